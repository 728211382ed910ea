"""An event publisher that keeps what it is given: for tests and for services without a broker yet."""

from __future__ import annotations

from collections.abc import Sequence

from apibase.domain.events import DomainEvent

__all__ = ["InMemoryEventPublisher"]


class InMemoryEventPublisher:
    def __init__(self) -> None:
        self.published: list[DomainEvent] = []

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        self.published.extend(events)
