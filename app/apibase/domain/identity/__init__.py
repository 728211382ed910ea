"""The identity domain: users of a tenant, the permission registry and role policy, API keys and refresh sessions."""

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
from apibase.domain.identity.permissions import (
    AUDIT_READ,
    KERNEL_PERMISSIONS,
    PERMISSION_PATTERN,
    USERS_MANAGE,
    Permission,
    PermissionConflict,
    PermissionRegistry,
    read_write,
)
from apibase.domain.identity.refresh_session import RefreshSession, RefreshTokenId, RefreshVerdict, SessionFamilyId
from apibase.domain.identity.roles import ADMIN, ROLE_NAME_PATTERN, SERVICE_ROLE, RolePolicy, normalise_roles
from apibase.domain.identity.user import (
    MAX_EMAIL_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    User,
    UserId,
    check_tenant,
    normalise_email,
    password_problem,
)

__all__ = [
    "ADMIN",
    "API_KEY_SCHEME",
    "AUDIT_READ",
    "KERNEL_PERMISSIONS",
    "LAST_USED_RESOLUTION",
    "MAX_API_KEY_NAME_LENGTH",
    "MAX_EMAIL_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PERMISSION_PATTERN",
    "ROLE_NAME_PATTERN",
    "SERVICE_ROLE",
    "USERS_MANAGE",
    "ApiKey",
    "ApiKeyId",
    "Permission",
    "PermissionConflict",
    "PermissionRegistry",
    "RefreshSession",
    "RefreshTokenId",
    "RefreshVerdict",
    "RolePolicy",
    "SessionFamilyId",
    "User",
    "UserId",
    "check_tenant",
    "hash_secret",
    "normalise_email",
    "normalise_roles",
    "password_problem",
    "prefix_of",
    "read_write",
]
