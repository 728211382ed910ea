"""Typed failures of token and password checks; a message never carries a token, key, claim value or password.

Every rejection has its own stable code so clients and dashboards can tell an expired session (refresh it)
from a forged token (alert), while the HTTP status stays 401 for all of them.
"""

# ruff: noqa: S105 - the enum values are error codes, not passwords
from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from apibase.core.error_codes import error_codes
from apibase.core.errors import DependencyUnavailable, UnauthorizedError

__all__ = ["AuthErrorCode", "InvalidCredentials", "InvalidToken", "JwksUnavailable"]


@error_codes("auth")
class AuthErrorCode(StrEnum):
    TOKEN_INVALID = "auth.token_invalid"
    TOKEN_MALFORMED = "auth.token_malformed"
    TOKEN_TOO_LARGE = "auth.token_too_large"
    TOKEN_ALGORITHM_REJECTED = "auth.token_algorithm_rejected"
    TOKEN_UNKNOWN_KEY = "auth.token_unknown_key"
    TOKEN_EXPIRED = "auth.token_expired"
    TOKEN_NOT_YET_VALID = "auth.token_not_yet_valid"
    TOKEN_WRONG_ISSUER = "auth.token_wrong_issuer"
    TOKEN_WRONG_AUDIENCE = "auth.token_wrong_audience"
    TOKEN_WRONG_TYPE = "auth.token_wrong_type"
    INVALID_CREDENTIALS = "auth.invalid_credentials"
    JWKS_UNAVAILABLE = "auth.jwks_unavailable"


class InvalidToken(UnauthorizedError):  # noqa: N818 - reads as the verdict it reports
    """A bearer token was rejected; ``code`` says why (the default: its signature does not match)."""

    title = "Invalid token"
    default_code: ClassVar[StrEnum] = AuthErrorCode.TOKEN_INVALID


class InvalidCredentials(UnauthorizedError):  # noqa: N818 - reads as the verdict it reports
    """Unknown user or wrong password: deliberately one answer, so callers cannot probe which accounts exist."""

    title = "Invalid credentials"
    default_code: ClassVar[StrEnum] = AuthErrorCode.INVALID_CREDENTIALS


class JwksUnavailable(DependencyUnavailable):
    """An external issuer's key set could not be fetched and no cached key fits: a 503, not the caller's fault."""

    title = "Token issuer keys unavailable"
    default_code: ClassVar[StrEnum] = AuthErrorCode.JWKS_UNAVAILABLE
