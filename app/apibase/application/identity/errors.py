"""Identity error codes and the errors the identity use cases return.

Codes are public API (docs/error-codes.md). The ``auth`` domain's enum lives with the token verifier in the
infrastructure layer, which the application cannot import, and a domain has one enum: so these codes read
``identity.*`` (``auth.invalid_credentials`` still comes from the password-hashing port).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from apibase.core.error_codes import error_codes
from apibase.core.errors import ConflictError, ForbiddenError, NotFoundError, TooManyRequestsError, UnauthorizedError

__all__ = [
    "AccountLockedError",
    "ApiKeyNotFoundError",
    "ApiKeyRevokedError",
    "EmailTakenError",
    "IdentityErrorCode",
    "InvalidApiKeyError",
    "PermissionDeniedError",
    "RefreshReusedError",
    "RefreshRevokedError",
    "SelfDemotionError",
    "TenantClosedError",
    "UserNotFoundError",
]


@error_codes("identity")
class IdentityErrorCode(StrEnum):
    EMAIL_TAKEN = "identity.email_taken"
    TENANT_CLOSED = "identity.tenant_closed"
    USER_NOT_FOUND = "identity.user_not_found"
    SELF_DEMOTION = "identity.self_demotion"
    PERMISSION_DENIED = "identity.permission_denied"
    ACCOUNT_LOCKED = "identity.account_locked"
    REFRESH_REUSED = "identity.refresh_reused"
    REFRESH_REVOKED = "identity.refresh_revoked"
    API_KEY_NOT_FOUND = "identity.api_key_not_found"
    API_KEY_REVOKED = "identity.api_key_revoked"
    API_KEY_INVALID = "identity.api_key_invalid"


class EmailTakenError(ConflictError):
    title = "Email taken"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.EMAIL_TAKEN


class TenantClosedError(ForbiddenError):
    """Self-service sign-up opens a new tenant only; joining an existing one takes an invitation by its admin."""

    title = "Tenant closed"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.TENANT_CLOSED


class UserNotFoundError(NotFoundError):
    """Also the answer for another tenant's user: a 403 there would confirm that the id exists."""

    title = "User not found"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.USER_NOT_FOUND


class SelfDemotionError(ConflictError):
    """An admin cannot take the admin role from themselves, so a tenant is never left without an admin."""

    title = "Cannot remove own admin role"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.SELF_DEMOTION


class PermissionDeniedError(ForbiddenError):
    title = "Permission denied"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.PERMISSION_DENIED


class AccountLockedError(TooManyRequestsError):
    """429 with ``retry_after`` (sent as ``Retry-After``) rather than WebDAV's 423: clients already back off on it."""

    title = "Account locked"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.ACCOUNT_LOCKED


class RefreshReusedError(UnauthorizedError):
    """A refresh token came back after it was used: its whole family is now revoked; log in again."""

    title = "Refresh token reused"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.REFRESH_REUSED


class RefreshRevokedError(UnauthorizedError):
    title = "Session ended"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.REFRESH_REVOKED


class ApiKeyNotFoundError(NotFoundError):
    """Also the answer for another user's key, so key ids cannot be probed."""

    title = "API key not found"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.API_KEY_NOT_FOUND


class ApiKeyRevokedError(ConflictError):
    title = "API key no longer valid"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.API_KEY_REVOKED


class InvalidApiKeyError(UnauthorizedError):
    """Unknown, malformed, revoked or expired key, or its user is gone: one answer for all of them."""

    title = "Invalid API key"
    default_code: ClassVar[StrEnum] = IdentityErrorCode.API_KEY_INVALID
