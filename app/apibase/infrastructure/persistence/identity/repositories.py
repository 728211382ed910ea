"""SQL adapters of the identity repository ports: plain statements, one per operation.

The generic ``SQLAlchemyRepository`` answers paging and filtering questions these ports never ask; what they do
need is tenant scoping on every read and compare-and-set writes (version guard, unused session, last-use age).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from pydantic import BaseModel
from sqlalchemy import Row, Select, Table, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from apibase.application.identity.errors import EmailTakenError
from apibase.core.errors import ConcurrencyConflict, ConflictError, EntityNotFound
from apibase.domain.identity.api_key import ApiKey, ApiKeyId
from apibase.domain.identity.refresh_session import RefreshSession, RefreshTokenId, SessionFamilyId
from apibase.domain.identity.user import User, UserId
from apibase.infrastructure.persistence.identity.tables import (
    ApiKeyRow,
    RefreshSessionRow,
    TenantRegistrationRow,
    UserRow,
)
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork

__all__ = ["SqlApiKeyRepository", "SqlRefreshSessionRepository", "SqlUserRepository"]

# Declarative classes type ``__table__`` as any FromClause; a mapped class's table is always a Table.
_USERS = cast("Table", UserRow.__table__)
_TENANTS = cast("Table", TenantRegistrationRow.__table__)
_KEYS = cast("Table", ApiKeyRow.__table__)
_SESSIONS = cast("Table", RefreshSessionRow.__table__)


def _values(entity: BaseModel, table: Table) -> dict[str, object]:
    data = entity.model_dump()
    return {column.key: data[column.key] for column in table.columns}


class _SqlRepository:
    def __init__(self, unit_of_work: SQLAlchemyUnitOfWork) -> None:
        self._uow = unit_of_work

    async def _rows(self, statement: Select[tuple[object, ...]]) -> Sequence[Row[tuple[object, ...]]]:
        return (await self._uow.session.execute(statement)).all()


class SqlUserRepository(_SqlRepository):
    @staticmethod
    def _user(row: Row[tuple[object, ...]]) -> User:
        return User.model_validate(row, from_attributes=True)

    @staticmethod
    def _row(user: User) -> dict[str, object]:
        values = _values(user, _USERS)
        values["roles"] = list(user.roles)
        return values

    async def get(self, user_id: UserId, *, tenant: str) -> User | None:
        rows = await self._rows(select(_USERS).where(_USERS.c.id == user_id, _USERS.c.tenant == tenant))
        return self._user(rows[0]) if rows else None

    async def get_by_email(self, email: str, *, tenant: str) -> User | None:
        rows = await self._rows(select(_USERS).where(_USERS.c.tenant == tenant, _USERS.c.email == email))
        return self._user(rows[0]) if rows else None

    async def list_in_tenant(self, tenant: str) -> list[User]:
        statement = select(_USERS).where(_USERS.c.tenant == tenant).order_by(_USERS.c.email)
        return [self._user(row) for row in await self._rows(statement)]

    async def tenant_has_users(self, tenant: str) -> bool:
        statement = select(exists().where(_USERS.c.tenant == tenant))
        return bool((await self._uow.session.execute(statement)).scalar_one())

    async def claim_tenant(self, tenant: str, at: datetime) -> bool:
        try:
            async with self._uow.session.begin_nested():
                await self._uow.session.execute(insert(_TENANTS).values(tenant=tenant, created_at=at))
        except IntegrityError:
            return False
        return True

    async def add(self, user: User) -> None:
        try:
            async with self._uow.session.begin_nested():
                await self._uow.session.execute(insert(_USERS).values(self._row(user)))
        except (IntegrityError, ConflictError) as exc:
            raise EmailTakenError(f"tenant {user.tenant} already has a user with this email") from exc

    async def save(self, user: User) -> None:
        """Writes version + 1 where the stored version is still the entity's; the entity follows on success."""
        expected = user.version
        values = self._row(user)
        values["version"] = expected + 1
        guard = (_USERS.c.id == user.id, _USERS.c.tenant == user.tenant, _USERS.c.version == expected)
        result = await self._uow.session.execute(update(_USERS).where(*guard).values(values))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            if await self.get(user.id, tenant=user.tenant) is None:
                raise EntityNotFound(f"user {user.id} does not exist")
            raise ConcurrencyConflict(f"user {user.id} changed since version {expected}; reload and retry")
        user.version = expected + 1


class SqlApiKeyRepository(_SqlRepository):
    @staticmethod
    def _key(row: Row[tuple[object, ...]]) -> ApiKey:
        return ApiKey.model_validate(row, from_attributes=True)

    async def add(self, key: ApiKey) -> None:
        await self._uow.session.execute(insert(_KEYS).values(_values(key, _KEYS)))

    async def get(self, key_id: ApiKeyId, *, user_id: UserId, tenant: str) -> ApiKey | None:
        owned = (_KEYS.c.id == key_id, _KEYS.c.user_id == user_id, _KEYS.c.tenant == tenant)
        rows = await self._rows(select(_KEYS).where(*owned, _KEYS.c.deleted_at.is_(None)))
        return self._key(rows[0]) if rows else None

    async def get_by_prefix(self, prefix: str) -> ApiKey | None:
        rows = await self._rows(select(_KEYS).where(_KEYS.c.prefix == prefix, _KEYS.c.deleted_at.is_(None)))
        return self._key(rows[0]) if rows else None

    async def list_for_user(self, user_id: UserId, *, tenant: str) -> list[ApiKey]:
        statement = (
            select(_KEYS)
            .where(_KEYS.c.user_id == user_id, _KEYS.c.tenant == tenant, _KEYS.c.deleted_at.is_(None))
            .order_by(_KEYS.c.created_at.desc(), _KEYS.c.id)
        )
        return [self._key(row) for row in await self._rows(statement)]

    async def save(self, key: ApiKey) -> None:
        changes = {
            "name": key.name,
            "expires_at": key.expires_at,
            "revoked_at": key.revoked_at,
            "updated_at": key.updated_at,
        }
        result = await self._uow.session.execute(update(_KEYS).where(_KEYS.c.id == key.id).values(changes))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise EntityNotFound(f"API key {key.id} does not exist")

    async def record_use(self, key_id: ApiKeyId, at: datetime, *, not_after: datetime) -> None:
        stale = or_(_KEYS.c.last_used_at.is_(None), _KEYS.c.last_used_at <= not_after)
        await self._uow.session.execute(update(_KEYS).where(_KEYS.c.id == key_id, stale).values(last_used_at=at))


class SqlRefreshSessionRepository(_SqlRepository):
    async def add(self, session: RefreshSession) -> None:
        await self._uow.session.execute(insert(_SESSIONS).values(_values(session, _SESSIONS)))

    async def get(self, jti: RefreshTokenId) -> RefreshSession | None:
        rows = await self._rows(select(_SESSIONS).where(_SESSIONS.c.id == jti))
        return RefreshSession.model_validate(rows[0], from_attributes=True) if rows else None

    async def mark_used(self, session: RefreshSession) -> bool:
        unused = (_SESSIONS.c.id == session.id, _SESSIONS.c.used_at.is_(None), _SESSIONS.c.revoked_at.is_(None))
        statement = update(_SESSIONS).where(*unused).values(used_at=session.used_at, updated_at=session.updated_at)
        result = await self._uow.session.execute(statement)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def revoke_family(self, family: SessionFamilyId, at: datetime) -> int:
        live = (_SESSIONS.c.family == family, _SESSIONS.c.revoked_at.is_(None))
        result = await self._uow.session.execute(update(_SESSIONS).where(*live).values(revoked_at=at, updated_at=at))
        return int(result.rowcount)  # type: ignore[attr-defined]
