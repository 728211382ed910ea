"""``SqlOutbox``: each domain event becomes an ``outbox_events`` row in the transaction that raised it.

The CloudEvent is built here, inside the command's span and request context, so the stored envelope carries that
moment's trace context, correlation id and tenant; the relay later sends it exactly as stored. The unit is
flushed before the rows are inserted: the aggregate's own rows are written (and, on PostgreSQL, locked) first,
so a later transaction on the same aggregate always draws a later ``position`` — the order the relay keeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from cloudevents.core.formats.json import JSONFormat
from sqlalchemy import insert

from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.context import current_tenant
from apibase.domain.events import DomainEvent
from apibase.infrastructure.messaging.cloud_events import to_cloud_event
from apibase.infrastructure.persistence.events.tables import OutboxEventRow
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work

__all__ = ["SqlOutbox", "envelope_of", "utc_now"]

_FORMAT = JSONFormat()


def utc_now() -> datetime:
    return datetime.now(UTC)


def envelope_of(event: DomainEvent, *, source: str) -> str:
    """The event as a structured-mode CloudEvent (JSON), the form stored and later sent."""
    return _FORMAT.write(to_cloud_event(event, source=source)).decode()


class SqlOutbox:
    """The ``Outbox`` port on the service's database; ``commits`` is set after each commit that stored events."""

    def __init__(self, *, source: str, topic: str, clock: Callable[[], datetime] = utc_now) -> None:
        if not source:
            raise ValueError("a CloudEvents source is required, e.g. '/<service name>'")
        self.source = source
        self.topic = topic
        self._clock = clock
        #: The relay waits on this between rounds: a commit wakes it at once instead of at its next poll.
        self.commits = asyncio.Event()

    async def store(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        session = require_sql_unit_of_work(unit).session
        await session.flush()  # the aggregate's writes first: see the module docstring
        now = self._clock()
        tenant = current_tenant()
        rows = [
            {
                "event_id": str(event.event_id),
                "event_type": type(event).event_type(),
                "topic": self.topic,
                "aggregate_id": event.aggregate_id,
                "tenant_id": tenant,
                "envelope": envelope_of(event, source=self.source),
                "created_at": now,
                "attempts": 0,
                "last_error": None,
                "next_attempt_at": now,
            }
            for event in events
        ]
        # One executemany in event order: the positions it draws are the order the relay publishes in.
        await session.execute(insert(OutboxEventRow), rows)

    async def store_raised(self, unit: UnitOfWork) -> None:
        """Store the events the aggregates ``unit`` touched raised: what a subscription handler's changes record
        leaves like a command's (the relay finds them at its next poll: nothing wakes it after that commit)."""
        await self.store(unit, unit.collect_events())

    def committed(self) -> None:
        self.commits.set()
