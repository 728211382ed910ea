"""Dead letters: outbox rows the relay gave up on, kept whole until an operator replays them.

The relay moves a row here after ``max_attempts`` failed sends (or at once when its envelope cannot even be
read), so one poison event stops blocking the later events of its aggregate. ``apibase events dlq list`` shows
them; ``replay`` puts them back in the outbox with their attempts reset. A replayed event gets a new position:
it is sent after the events of its aggregate that went out meanwhile (consumers that need strict order must
treat a replay as a late event).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.infrastructure.events.outbox import utc_now
from apibase.infrastructure.events.relay_queries import among
from apibase.infrastructure.persistence.events.tables import DeadLetterRow, OutboxEventRow

__all__ = ["DeadLetter", "DeadLetters", "bury"]

_OUTBOX = cast("Table", OutboxEventRow.__table__)
_DEAD = cast("Table", DeadLetterRow.__table__)
#: The columns a row keeps when it moves between the two tables (``position`` is kept in the dead letter only).
_CARRIED = ("event_id", "event_type", "topic", "aggregate_id", "tenant_id", "envelope", "created_at", "attempts")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    event_id: str
    event_type: str
    aggregate_id: str
    tenant_id: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    dead_lettered_at: datetime


async def bury(session: AsyncSession, failures: Sequence[tuple[int, str]], now: datetime) -> None:
    """Move the outbox rows at these positions (each with the error of its last try) to the dead letters, in the
    caller's transaction; the row is copied by the database, so the relay never reads more than it sends."""
    if not failures:
        return
    positions = [position for position, _ in failures]
    carried = [_OUTBOX.c[name] for name in _CARRIED if name != "attempts"]
    copy = select(*carried, _OUTBOX.c.position, _OUTBOX.c.attempts + 1, literal(now, _DEAD.c.dead_lettered_at.type))
    columns = [*(column.name for column in carried), "position", "attempts", "dead_lettered_at"]
    await session.execute(insert(_DEAD).from_select(columns, copy.where(among(session, positions))))
    errors = [{"row_position": position, "error": error} for position, error in failures]
    await session.execute(
        update(_DEAD).where(_DEAD.c.position == bindparam("row_position")).values(last_error=bindparam("error")),
        errors,
        execution_options={"synchronize_session": False},
    )
    await session.execute(delete(_OUTBOX).where(among(session, positions)))


class DeadLetters:
    """Inspect and replay the dead letters (the ``apibase events dlq`` commands)."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock

    async def entries(self, *, limit: int = 100) -> list[DeadLetter]:
        """The oldest dead letters first (the order they failed in)."""
        statement = select(_DEAD).order_by(_DEAD.c.dead_lettered_at, _DEAD.c.position).limit(limit)
        async with self._session_factory() as session:
            rows = (await session.execute(statement)).all()
        return [
            DeadLetter(
                event_id=row.event_id,
                event_type=row.event_type,
                aggregate_id=row.aggregate_id,
                tenant_id=row.tenant_id,
                attempts=row.attempts,
                last_error=row.last_error,
                created_at=row.created_at,
                dead_lettered_at=row.dead_lettered_at,
            )
            for row in rows
        ]

    async def replay(self, event_ids: Sequence[str] | None = None) -> list[str]:
        """Put the named dead letters (every one when ``event_ids`` is ``None``) back in the outbox, due now.

        Returns the ids replayed, in their original order; unknown ids are ignored (the caller reports them).
        """
        statement = select(_DEAD).order_by(_DEAD.c.position).with_for_update()
        if event_ids is not None:
            statement = statement.where(_DEAD.c.event_id.in_(list(event_ids)))
        now = self._clock()
        async with self._session_factory() as session, session.begin():
            rows = (await session.execute(statement)).all()
            if not rows:
                return []
            values = [
                {
                    **{name: row._mapping[name] for name in _CARRIED},
                    "attempts": 0,
                    "last_error": None,
                    "next_attempt_at": now,
                }
                for row in rows
            ]
            await session.execute(insert(_OUTBOX), values)
            positions = [row.position for row in rows]
            await session.execute(delete(_DEAD).where(_DEAD.c.position.in_(positions)))
        return [row.event_id for row in rows]
