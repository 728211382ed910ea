"""The relay's SQL, one function per statement, on the ``outbox_events`` table (see ``relay`` for the protocol)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from sqlalchemy import Row, Table, and_, bindparam, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from apibase.infrastructure.persistence.events.tables import OutboxEventRow

__all__ = [
    "claim_due",
    "delete_sent",
    "first_unclaimed_positions",
    "pending_summary",
    "postpone",
    "read_envelope",
]

_OUTBOX = cast("Table", OutboxEventRow.__table__)
_FORMAT = JSONFormat()


def read_envelope(envelope: str) -> BaseCloudEvent:
    """The stored structured-mode CloudEvent, as the sink receives it; raises on a corrupt envelope."""
    return _FORMAT.read(CloudEvent, envelope)


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[Row[Any]]:
    """The first ``limit`` due rows nobody else holds, in position order, locked (PostgreSQL) for this round.

    A row behind an earlier row of its aggregate that waits for its backoff is not due: it would only be dropped.
    """
    table = _OUTBOX
    earlier = _OUTBOX.alias("earlier")
    waiting_before = exists().where(
        earlier.c.aggregate_id == table.c.aggregate_id,
        earlier.c.position < table.c.position,
        earlier.c.next_attempt_at > now,
    )
    statement = (
        select(table)
        .where(table.c.next_attempt_at <= now, ~and_(table.c.aggregate_id != "", waiting_before))
        .order_by(table.c.position)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(statement)).all())


async def first_unclaimed_positions(session: AsyncSession, claimed: Sequence[Row[Any]]) -> dict[str, int]:
    """Per claimed aggregate, the position of its earliest row *not* in the claim, where that comes before the
    last claimed row: claimed rows after it must wait (another relay, or a retry, owns the aggregate's order)."""
    aggregates = sorted({row.aggregate_id for row in claimed if row.aggregate_id})
    if not aggregates:
        return {}
    positions = [row.position for row in claimed]
    statement = (
        select(_OUTBOX.c.aggregate_id, func.min(_OUTBOX.c.position))
        .where(
            _OUTBOX.c.aggregate_id.in_(aggregates),
            _OUTBOX.c.position < max(positions),
            _OUTBOX.c.position.not_in(positions),
        )
        .group_by(_OUTBOX.c.aggregate_id)
    )
    return {str(aggregate): int(position) for aggregate, position in (await session.execute(statement)).all()}


async def delete_sent(session: AsyncSession, positions: Sequence[int]) -> None:
    if positions:
        await session.execute(delete(_OUTBOX).where(_OUTBOX.c.position.in_(positions)))


async def postpone(session: AsyncSession, retries: Sequence[tuple[int, int, str, datetime]]) -> None:
    """Record failed sends: ``(position, attempts, last_error, next_attempt_at)`` per row."""
    if not retries:
        return
    statement = (
        update(_OUTBOX)
        .where(_OUTBOX.c.position == bindparam("row_position"))
        .values(attempts=bindparam("row_attempts"), last_error=bindparam("error"), next_attempt_at=bindparam("due"))
    )
    rows = [
        {"row_position": position, "row_attempts": attempts, "error": error, "due": due}
        for position, attempts, error, due in retries
    ]
    connection = await session.connection()
    await connection.execute(statement, rows)


async def pending_summary(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many events wait in the outbox, and when the oldest of them was stored."""
    statement = select(func.count(), func.min(_OUTBOX.c.created_at))
    count, oldest = (await session.execute(statement)).one()
    return int(count), oldest
