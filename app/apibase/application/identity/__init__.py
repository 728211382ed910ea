"""Identity use cases: sign-up, users and roles, login, refresh-token rotation, API keys.

Commands (``commands``) and queries (``queries``) on the kernel's buses, one small handler each (``users``,
``sessions``, ``api_keys``); ``PasswordLogin`` is the process a login runs over them.
"""

from __future__ import annotations

from apibase.application.identity.commands import (
    AddUser,
    AuthenticateApiKey,
    CreateApiKey,
    Logout,
    OpenSession,
    RecordFailedLogin,
    RegisterTenant,
    RevokeApiKey,
    RotateApiKey,
    RotateRefreshToken,
    SetRoles,
)
from apibase.application.identity.dependencies import IdentityDependencies, IdentityRules
from apibase.application.identity.dto import ApiKeyView, IssuedApiKey, TokenPair, UserView
from apibase.application.identity.errors import (
    AccountLockedError,
    ApiKeyNotFoundError,
    ApiKeyRevokedError,
    EmailTakenError,
    IdentityErrorCode,
    InvalidApiKeyError,
    PermissionDeniedError,
    RefreshReusedError,
    RefreshRevokedError,
    SelfDemotionError,
    TenantClosedError,
    UserNotFoundError,
)
from apibase.application.identity.login import PasswordLogin
from apibase.application.identity.ports import (
    ApiKeyRepository,
    IdentityStorage,
    MintedToken,
    PasswordHashing,
    RefreshSessionRepository,
    RefreshTokenClaims,
    TokenMinting,
    UserRepository,
)
from apibase.application.identity.principals import build_principal
from apibase.application.identity.queries import FindLoginUser, GetCurrentUser, ListApiKeys, ListUsers
from apibase.application.identity.registration import register_identity_handlers

__all__ = [
    "AccountLockedError",
    "AddUser",
    "ApiKeyNotFoundError",
    "ApiKeyRepository",
    "ApiKeyRevokedError",
    "ApiKeyView",
    "AuthenticateApiKey",
    "CreateApiKey",
    "EmailTakenError",
    "FindLoginUser",
    "GetCurrentUser",
    "IdentityDependencies",
    "IdentityErrorCode",
    "IdentityRules",
    "IdentityStorage",
    "InvalidApiKeyError",
    "IssuedApiKey",
    "ListApiKeys",
    "ListUsers",
    "Logout",
    "MintedToken",
    "OpenSession",
    "PasswordHashing",
    "PasswordLogin",
    "PermissionDeniedError",
    "RecordFailedLogin",
    "RefreshReusedError",
    "RefreshRevokedError",
    "RefreshSessionRepository",
    "RefreshTokenClaims",
    "RegisterTenant",
    "RevokeApiKey",
    "RotateApiKey",
    "RotateRefreshToken",
    "SelfDemotionError",
    "SetRoles",
    "TenantClosedError",
    "TokenMinting",
    "TokenPair",
    "UserNotFoundError",
    "UserRepository",
    "UserView",
    "build_principal",
    "register_identity_handlers",
]
