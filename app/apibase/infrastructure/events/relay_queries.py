"""The relay's SQL, one function per statement, on the ``outbox_events`` table (see ``relay`` for the protocol)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Row,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from apibase.infrastructure.persistence.events.tables import OutboxEventRow

__all__ = [
    "among",
    "claim_due",
    "delete_sent",
    "first_unclaimed_positions",
    "pending_summary",
    "postpone",
]

_OUTBOX = cast("Table", OutboxEventRow.__table__)
#: What a round needs of a claimed row (dead letters are copied by the database, whole).
_CLAIMED = ("position", "event_id", "event_type", "aggregate_id", "envelope", "attempts")


def among(session: AsyncSession, positions: Sequence[int]) -> ColumnElement[bool]:
    """``position`` is one of ``positions``: one array parameter on PostgreSQL (a batch is hundreds of rows, and an
    IN list renders a parameter each, every time), an IN list elsewhere."""
    return _one_of(session, _OUTBOX.c.position, list(positions), BigInteger())


def _one_of[T](
    session: AsyncSession, column: ColumnElement[T], values: list[T], item: TypeEngine[T]
) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(item)))
    return column.in_(values)


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[Row[Any]]:
    """The first ``limit`` due rows nobody else holds, in position order, locked (PostgreSQL) for this round.

    A row behind an earlier row of its aggregate that waits for its backoff is not due: it could only be dropped,
    and a batch full of them would starve every other aggregate. The waiting rows are few (only failed sends
    wait), so they are grouped once per claim, not looked up per candidate row.
    """
    table = _OUTBOX
    waiting = (
        select(table.c.aggregate_id, func.min(table.c.position).label("first"))
        .where(table.c.next_attempt_at > now, table.c.aggregate_id != "")
        .group_by(table.c.aggregate_id)
        .cte("waiting")
    )
    statement = (
        select(*(table.c[name] for name in _CLAIMED))
        .outerjoin(waiting, waiting.c.aggregate_id == table.c.aggregate_id)
        .where(table.c.next_attempt_at <= now, or_(waiting.c.first.is_(None), table.c.position < waiting.c.first))
        .order_by(table.c.position)
        .limit(limit)
        .with_for_update(skip_locked=True, of=table)
    )
    return list((await session.execute(statement)).all())


async def first_unclaimed_positions(session: AsyncSession, claimed: Sequence[Row[Any]]) -> dict[str, int]:
    """Per claimed aggregate, the position of its earliest row *not* in the claim, where that comes before the
    last claimed row: claimed rows after it must wait (another relay, or a retry, owns the aggregate's order).

    Counted first (one small row per aggregate): only an aggregate with more rows up to the claim's end than the
    claim holds has such a row, and only those are looked at row by row.
    """
    in_claim: dict[str, int] = {}
    for row in claimed:
        if row.aggregate_id:
            in_claim[row.aggregate_id] = in_claim.get(row.aggregate_id, 0) + 1
    if not in_claim:
        return {}
    last = max(row.position for row in claimed)
    table = _OUTBOX
    counted = (
        select(table.c.aggregate_id, func.count())
        .where(_one_of(session, table.c.aggregate_id, sorted(in_claim), String()), table.c.position <= last)
        .group_by(table.c.aggregate_id)
    )
    crowded = [aggregate for aggregate, rows in (await session.execute(counted)).all() if rows > in_claim[aggregate]]
    if not crowded:
        return {}
    positions = {row.position for row in claimed}
    listed = select(table.c.aggregate_id, table.c.position).where(
        _one_of(session, table.c.aggregate_id, crowded, String()), table.c.position < last
    )
    first: dict[str, int] = {}
    for aggregate, position in (await session.execute(listed)).all():
        if position not in positions and position < first.get(aggregate, position + 1):
            first[str(aggregate)] = int(position)
    return first


async def delete_sent(session: AsyncSession, positions: Sequence[int]) -> None:
    if positions:
        await session.execute(delete(_OUTBOX).where(among(session, positions)))


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
