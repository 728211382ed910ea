"""The outbox, dead-letter and inbox tables (see ``tables``)."""

from __future__ import annotations

from apibase.infrastructure.persistence.events.tables import DeadLetterRow, InboxRow, OutboxEventRow

__all__ = ["DeadLetterRow", "InboxRow", "OutboxEventRow"]
