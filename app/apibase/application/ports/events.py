"""The event publisher port: where domain events go after their transaction commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from apibase.domain.events import DomainEvent

__all__ = ["EventPublisher"]


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[DomainEvent]) -> None: ...
