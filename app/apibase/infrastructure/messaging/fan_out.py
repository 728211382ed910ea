"""One ``EventPublisher`` port, several destinations (e.g. the in-memory log the tests read, and a broker).

Every publisher is given the batch, in order, even when an earlier one fails: one broken destination must not
silently starve the others. Failures are raised afterwards (a single one unchanged, several as an
``ExceptionGroup``), since a publishing failure propagates to the caller like any other (see the outbox note in
``TransactionBehaviour``). Cancellation is not caught.

Public API: ``FanOutPublisher(*publishers)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from apibase.application.ports.events import EventPublisher
from apibase.domain.events import DomainEvent

__all__ = ["FanOutPublisher"]


class FanOutPublisher:
    def __init__(self, *publishers: EventPublisher) -> None:
        self._publishers = publishers

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        failures: list[Exception] = []
        for publisher in self._publishers:
            try:
                await publisher.publish(events)
            except Exception as error:
                failures.append(error)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise ExceptionGroup("publishing to several destinations failed", failures)
