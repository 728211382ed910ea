"""``SqlAuditLog``: the ``AuditLog`` port on SQLAlchemy, in short transactions of its own (group commit).

Its own transaction, not the request's unit of work: refused requests (401/403) have no unit of work, and an
entry must be written even when the use case rolled back. Long values are clipped to the column sizes rather
than failing the write.

Group commit: one write transaction runs at a time, and it takes every entry recorded so far. Alone, an entry gets
a transaction of its own as before; under load, the entries of all the writes that arrived during one commit share
the next. ``record`` still returns only once its entry is stored and raises if that failed, but a busy service no
longer doubles its write transactions (on SQLite, one writer at a time, every POST used to queue for the lock
twice). The batch is one Core ``INSERT`` of plain rows: the ORM's flush of a one-row batch cost more than the
rest of the transaction.
"""

from __future__ import annotations

import asyncio
import builtins
import uuid
from typing import Final

from sqlalchemy import Insert, and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.ports.audit import AuditEntry
from apibase.core.principal import AuthMethod
from apibase.infrastructure.persistence.audit.tables import AUDIT_COLUMN_LENGTHS, AuditLogRow

__all__ = ["SqlAuditLog"]

_INSERT: Final[Insert] = insert(AuditLogRow.__table__)  # type: ignore[arg-type]


class SqlAuditLog:
    """``AuditLog`` over the ``audit_log`` table."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory
        self._pending: builtins.list[tuple[AuditEntry, asyncio.Future[None]]] = []
        self._writing = asyncio.Lock()

    async def record(self, entry: AuditEntry) -> None:
        stored = asyncio.get_running_loop().create_future()
        self._pending.append((entry, stored))
        async with self._writing:
            if not stored.done():  # nobody took it into their transaction while this one waited: write them all
                await self._write_pending()
        stored.result()

    async def _write_pending(self) -> None:
        batch, self._pending = self._pending, []
        try:
            async with self._sessions.begin() as session:
                await session.execute(_INSERT, [_to_values(entry) for entry, _ in batch])
        except Exception as error:
            for _, stored in batch:
                stored.set_exception(error)
            return
        except BaseException:  # cancelled: the entries go back, for the next writer
            self._pending[:0] = batch
            raise
        for _, stored in batch:
            stored.set_result(None)

    async def list(self, tenant: str, *, limit: int, before: uuid.UUID | None = None) -> builtins.list[AuditEntry]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        async with self._sessions() as session:
            query = select(AuditLogRow).where(AuditLogRow.tenant_id == tenant)
            if before is not None:
                anchor = await session.scalar(
                    select(AuditLogRow.occurred_at).where(AuditLogRow.id == before, AuditLogRow.tenant_id == tenant)
                )
                if anchor is None:
                    return []
                query = query.where(
                    or_(
                        AuditLogRow.occurred_at < anchor,
                        and_(AuditLogRow.occurred_at == anchor, AuditLogRow.id < before),
                    )
                )
            rows = await session.scalars(
                query.order_by(AuditLogRow.occurred_at.desc(), AuditLogRow.id.desc()).limit(limit)
            )
            return [_to_entry(row) for row in rows]


def _clip(column: str, value: str) -> str:
    return value[: AUDIT_COLUMN_LENGTHS[column]]


def _clip_optional(column: str, value: str | None) -> str | None:
    return None if value is None else _clip(column, value)


def _to_values(entry: AuditEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "occurred_at": entry.occurred_at,
        "actor": _clip("actor", entry.actor),
        "actor_method": None if entry.actor_method is None else entry.actor_method.value,
        "tenant_id": _clip("tenant_id", entry.tenant),
        "action": _clip("action", entry.action),
        "resource_type": _clip("resource_type", entry.resource_type),
        "resource_id": _clip_optional("resource_id", entry.resource_id),
        "outcome": entry.outcome,
        "request_id": _clip_optional("request_id", entry.request_id),
        "client_ip": _clip_optional("client_ip", entry.client_ip),
    }


def _to_entry(row: AuditLogRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        occurred_at=row.occurred_at,
        actor=row.actor,
        actor_method=None if row.actor_method is None else AuthMethod(row.actor_method),
        tenant=row.tenant_id,
        action=row.action,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        outcome=row.outcome,
        request_id=row.request_id,
        client_ip=row.client_ip,
    )
