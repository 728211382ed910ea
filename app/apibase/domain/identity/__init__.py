"""The identity domain: users of a tenant, their roles and permissions, API keys and refresh sessions."""

from __future__ import annotations

from apibase.domain.identity.api_key import (
    API_KEY_SCHEME,
    LAST_USED_RESOLUTION,
    MAX_API_KEY_NAME_LENGTH,
    ApiKey,
    ApiKeyId,
    hash_secret,
    prefix_of,
)
from apibase.domain.identity.permissions import ROLE_PERMISSIONS, Permission, Role, permissions_for
from apibase.domain.identity.refresh_session import RefreshSession, RefreshTokenId, RefreshVerdict, SessionFamilyId
from apibase.domain.identity.user import (
    MAX_EMAIL_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    User,
    UserId,
    check_tenant,
    normalise_email,
    normalise_roles,
    password_problem,
)

__all__ = [
    "API_KEY_SCHEME",
    "LAST_USED_RESOLUTION",
    "MAX_API_KEY_NAME_LENGTH",
    "MAX_EMAIL_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "ROLE_PERMISSIONS",
    "ApiKey",
    "ApiKeyId",
    "Permission",
    "RefreshSession",
    "RefreshTokenId",
    "RefreshVerdict",
    "Role",
    "SessionFamilyId",
    "User",
    "UserId",
    "check_tenant",
    "hash_secret",
    "normalise_email",
    "normalise_roles",
    "password_problem",
    "permissions_for",
    "prefix_of",
]
