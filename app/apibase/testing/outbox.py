"""Doubles for testing the outbox and its relay: a clock the test moves, a sink that refuses on cue, the tables.

``ScriptedSink`` is a ``MessageSink`` that keeps what it accepted and refuses a batch holding an event it was
told to refuse (or everything while ``down``), the way a broker that rejects a message or is unreachable does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cloudevents.core.base import BaseCloudEvent
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.infrastructure.persistence.events.tables import DeadLetterRow, InboxRow, OutboxEventRow

__all__ = ["EVENT_TABLES", "ManualClock", "ScriptedSink", "create_event_tables"]

EVENT_TABLES: tuple[Table, ...] = tuple(
    OutboxEventRow.metadata.tables[row.__tablename__] for row in (OutboxEventRow, DeadLetterRow, InboxRow)
)


async def create_event_tables(engine: AsyncEngine) -> None:
    """The outbox, dead-letter and inbox tables alone (what migration ``apibase_0003`` creates)."""
    async with engine.begin() as connection:
        await connection.run_sync(OutboxEventRow.metadata.create_all, tables=list(EVENT_TABLES))


class ManualClock:
    """Stands still until the test moves it: backoff is checked without waiting for it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ScriptedSink:
    """Accepts batches, except those holding an event in ``refused_ids`` (or any batch while ``down``)."""

    def __init__(self) -> None:
        self.sent: list[BaseCloudEvent] = []
        #: The size of every batch it was handed, accepted or not.
        self.batches: list[int] = []
        self.refused_ids: set[str] = set()
        self.down = False

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        self.batches.append(len(messages))
        if self.down or any(message.get_id() in self.refused_ids for message in messages):
            raise ConnectionError("the broker refused the batch")
        self.sent.extend(messages)

    def ids(self) -> list[str]:
        return [message.get_id() for message in self.sent]
