"""Typed failures of field encryption and request signing; messages never carry keys, plaintext or MACs."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from apibase.core.error_codes import error_codes
from apibase.core.errors import InfrastructureError, UnauthorizedError

__all__ = ["CryptoErrorCode", "DecryptionFailed", "SignatureExpired", "SignatureInvalid", "SignatureReplayed"]


@error_codes("crypto")
class CryptoErrorCode(StrEnum):
    DECRYPTION_FAILED = "crypto.decryption_failed"
    SIGNATURE_INVALID = "crypto.signature_invalid"
    SIGNATURE_EXPIRED = "crypto.signature_expired"
    SIGNATURE_REPLAYED = "crypto.signature_replayed"


class DecryptionFailed(InfrastructureError[StrEnum]):
    """A stored ciphertext is malformed, was tampered with, moved to another field/row, or its key is gone.

    Stored data is broken rather than a dependency down, so it is a 500, never plaintext garbage.
    """

    status = 500
    title = "Stored data could not be decrypted"
    default_code: ClassVar[StrEnum] = CryptoErrorCode.DECRYPTION_FAILED


class SignatureInvalid(UnauthorizedError):  # noqa: N818 - reads as the event it reports
    """A signed request is missing its signature, names an unknown key, or does not match what was sent."""

    title = "Invalid request signature"
    default_code: ClassVar[StrEnum] = CryptoErrorCode.SIGNATURE_INVALID


class SignatureExpired(SignatureInvalid):
    """The request's timestamp lies outside the accepted clock skew (too old, or from the future)."""

    title = "Request signature expired"
    default_code: ClassVar[StrEnum] = CryptoErrorCode.SIGNATURE_EXPIRED


class SignatureReplayed(SignatureInvalid):
    """A correctly signed request was seen before within the replay window."""

    title = "Request replayed"
    default_code: ClassVar[StrEnum] = CryptoErrorCode.SIGNATURE_REPLAYED
