"""Factories the composition root calls to get the identity service on SQL: plain constructor injection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.identity.ports import IdentityStorage, PasswordHashing, TokenMinting
from apibase.application.identity.service import IdentityService
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.domain.entities import utc_now
from apibase.domain.identity.roles import RolePolicy
from apibase.infrastructure.persistence.identity.repositories import (
    SqlApiKeyRepository,
    SqlRefreshSessionRepository,
    SqlUserRepository,
)
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work, sql_unit_of_work_factory

__all__ = ["build_identity_service", "identity_storage"]


def identity_storage(
    session_factory: async_sessionmaker[AsyncSession], unit_of_work: Callable[[], UnitOfWork] | None = None
) -> IdentityStorage:
    """``unit_of_work`` replaces the plain SQL one, e.g. with one guarded by the database circuit breaker."""
    return IdentityStorage(
        unit_of_work=unit_of_work or sql_unit_of_work_factory(session_factory),
        users=lambda uow: SqlUserRepository(require_sql_unit_of_work(uow)),
        api_keys=lambda uow: SqlApiKeyRepository(require_sql_unit_of_work(uow)),
        sessions=lambda uow: SqlRefreshSessionRepository(require_sql_unit_of_work(uow)),
    )


def build_identity_service(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    hasher: PasswordHashing,
    tokens: TokenMinting,
    roles: RolePolicy,
    max_failed_logins: int = 5,
    lockout_seconds: int = 900,
    api_key_grace_seconds: int = 86_400,
    clock: Callable[[], datetime] = utc_now,
    unit_of_work: Callable[[], UnitOfWork] | None = None,
) -> IdentityService:
    """Pass ``settings.auth``'s values; ``hasher`` and ``tokens`` are usually the adapters in
    ``apibase.infrastructure.security.identity_adapters`` (``Argon2PasswordHashing``, ``JwtTokenMinting``).
    """
    return IdentityService(
        identity_storage(session_factory, unit_of_work),
        hasher=hasher,
        tokens=tokens,
        roles=roles,
        max_failed_logins=max_failed_logins,
        lockout_seconds=lockout_seconds,
        api_key_grace_seconds=api_key_grace_seconds,
        clock=clock,
    )
