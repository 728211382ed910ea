"""Identity on SQL: users, tenant registrations, API keys and refresh sessions, and the service factory."""

from __future__ import annotations

from apibase.infrastructure.persistence.identity.repositories import (
    SqlApiKeyRepository,
    SqlRefreshSessionRepository,
    SqlUserRepository,
)
from apibase.infrastructure.persistence.identity.tables import (
    ApiKeyRow,
    RefreshSessionRow,
    TenantRegistrationRow,
    UserRow,
)
from apibase.infrastructure.persistence.identity.wiring import build_identity_service, identity_storage

__all__ = [
    "ApiKeyRow",
    "RefreshSessionRow",
    "SqlApiKeyRepository",
    "SqlRefreshSessionRepository",
    "SqlUserRepository",
    "TenantRegistrationRow",
    "UserRow",
    "build_identity_service",
    "identity_storage",
]
