"""Cryptography helpers: AES-GCM field encryption with a key ring, HMAC request signing, their typed errors."""

from __future__ import annotations

from apibase.infrastructure.crypto.errors import (
    CryptoErrorCode,
    DecryptionFailed,
    SignatureExpired,
    SignatureInvalid,
    SignatureReplayed,
)
from apibase.infrastructure.crypto.field_encryption import EncryptionKey, FieldEncryptor, KeyRing, reencrypt_all
from apibase.infrastructure.crypto.request_signing import (
    InMemoryReplayCache,
    ReplayCache,
    RequestSigner,
    RequestVerifier,
    SigningKey,
    content_digest,
)

__all__ = [
    "CryptoErrorCode",
    "DecryptionFailed",
    "EncryptionKey",
    "FieldEncryptor",
    "InMemoryReplayCache",
    "KeyRing",
    "ReplayCache",
    "RequestSigner",
    "RequestVerifier",
    "SignatureExpired",
    "SignatureInvalid",
    "SignatureReplayed",
    "SigningKey",
    "content_digest",
    "reencrypt_all",
]
