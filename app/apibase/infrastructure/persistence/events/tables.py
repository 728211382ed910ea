"""The event tables: the outbox the relay drains, the dead letters it gives up on, and the subscribers' inbox.

All three are ``GlobalTable``s: one relay serves every tenant (each outbox row names its tenant, which travels
on the CloudEvent), and an inbox row is keyed by the event's id, which is unique across tenants.

- ``outbox_events``: one row per domain event, written in the transaction that raised it; ``position`` is the
  commit order the relay publishes in (per ``aggregate_id``); a row is deleted once the broker accepted it.
- ``outbox_dead_letters``: rows that failed ``max_attempts`` times, kept whole for ``apibase events dlq``.
- ``inbox_events``: (subscription, event id) pairs already handled, inserted with the handler's effect.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from apibase.infrastructure.persistence.column_types import UTCDateTime
from apibase.infrastructure.persistence.orm import Base, GlobalTable

__all__ = ["DeadLetterRow", "InboxRow", "OutboxEventRow"]

# SQLite assigns ROWIDs only to an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
_POSITION = BigInteger().with_variant(Integer(), "sqlite")


class _EventColumns:
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    aggregate_id: Mapped[str] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    #: The CloudEvent in its JSON (structured) form, built when the event was stored: it carries that
    #: moment's trace context, correlation id and tenant.
    envelope: Mapped[str] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer(), default=0)
    last_error: Mapped[str | None] = mapped_column(Text(), nullable=True)


class OutboxEventRow(GlobalTable, _EventColumns, Base):
    __tablename__ = "outbox_events"
    # The relay's ordering check: is there an earlier pending event of the same aggregate?
    __table_args__ = (Index("ix_outbox_events_aggregate_id_position", "aggregate_id", "position"),)

    position: Mapped[int] = mapped_column(_POSITION, primary_key=True, autoincrement=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DeadLetterRow(GlobalTable, _EventColumns, Base):
    __tablename__ = "outbox_dead_letters"

    position: Mapped[int] = mapped_column(_POSITION, primary_key=True, autoincrement=False)
    dead_lettered_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class InboxRow(GlobalTable, Base):
    __tablename__ = "inbox_events"

    subscription: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
