"""Identity use cases: sign-up, users and roles, login, refresh-token rotation, API keys."""

from __future__ import annotations

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
from apibase.application.identity.service import IdentityService

__all__ = [
    "AccountLockedError",
    "ApiKeyNotFoundError",
    "ApiKeyRepository",
    "ApiKeyRevokedError",
    "ApiKeyView",
    "EmailTakenError",
    "IdentityErrorCode",
    "IdentityService",
    "IdentityStorage",
    "InvalidApiKeyError",
    "IssuedApiKey",
    "MintedToken",
    "PasswordHashing",
    "PermissionDeniedError",
    "RefreshReusedError",
    "RefreshRevokedError",
    "RefreshSessionRepository",
    "RefreshTokenClaims",
    "SelfDemotionError",
    "TenantClosedError",
    "TokenMinting",
    "TokenPair",
    "UserNotFoundError",
    "UserRepository",
    "UserView",
    "build_principal",
]
