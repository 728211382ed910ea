"""The identity repositories on SQL, bound to the unit of work the bus opens for each message."""

from __future__ import annotations

from apibase.application.identity.ports import IdentityStorage
from apibase.infrastructure.persistence.identity.repositories import (
    SqlApiKeyRepository,
    SqlRefreshSessionRepository,
    SqlUserRepository,
)
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work

__all__ = ["identity_storage"]


def identity_storage() -> IdentityStorage:
    """The bus's units must be SQL ones (the kernel's breaker-guarded units are)."""
    return IdentityStorage(
        users=lambda uow: SqlUserRepository(require_sql_unit_of_work(uow)),
        api_keys=lambda uow: SqlApiKeyRepository(require_sql_unit_of_work(uow)),
        sessions=lambda uow: SqlRefreshSessionRepository(require_sql_unit_of_work(uow)),
    )
