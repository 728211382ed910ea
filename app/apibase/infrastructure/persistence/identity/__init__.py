"""Identity on SQL: users, tenant registrations, API keys and refresh sessions, and their storage for the handlers."""

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
from apibase.infrastructure.persistence.identity.wiring import identity_storage

__all__ = [
    "ApiKeyRow",
    "RefreshSessionRow",
    "SqlApiKeyRepository",
    "SqlRefreshSessionRepository",
    "SqlUserRepository",
    "TenantRegistrationRow",
    "UserRow",
    "identity_storage",
]
