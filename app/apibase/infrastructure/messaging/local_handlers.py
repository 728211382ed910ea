"""In-process subscribers to domain events: how one module reacts to another's events without importing it.

Modules register handlers by event type (``Features.event_handlers``); a handler sees every event of its type or
of a subclass, in publication order. A failing handler does not stop the others: its error is raised after all
ran, like the other destinations of ``FanOutPublisher``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence

from apibase.domain.events import DomainEvent

__all__ = ["LocalEventHandlers"]

type _Handler = Callable[[DomainEvent], Awaitable[None]]


class LocalEventHandlers:
    def __init__(self) -> None:
        self._handlers: defaultdict[type[DomainEvent], list[_Handler]] = defaultdict(list)

    def subscribe(self, handlers: Mapping[type[DomainEvent], Sequence[_Handler]]) -> None:
        for event_type, subscribed in handlers.items():
            self._handlers[event_type].extend(subscribed)

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        failures: list[Exception] = []
        for event in events:
            for event_type, handlers in self._handlers.items():
                if not isinstance(event, event_type):
                    continue
                for handler in handlers:
                    try:
                        await handler(event)
                    except Exception as error:
                        failures.append(error)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise ExceptionGroup("in-process event handlers failed", failures)
