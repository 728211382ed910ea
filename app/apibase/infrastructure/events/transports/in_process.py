"""The in-process transport (``publisher: in-process``, the default for ``make run``): no broker at all.

The relay hands each batch to ``InProcessSink``, which delivers every event to this service's own
subscriptions through the dispatcher, in order, before ``send`` returns. So the outbox still guarantees
at-least-once delivery (a crash before the relay deleted the rows redelivers them; the inbox skips what was
handled), only without leaving the process. ``RETRY`` raises ``DeliveryRetry``, so the relay backs the event off
and tries again; ``DROP`` has no dead-letter topic here: it is logged and counted (by the dispatcher, per
subscription, and here), and the event counts as sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cloudevents.core.base import BaseCloudEvent

from apibase.application.ports.messaging import EventDispatcher
from apibase.application.subscriptions import Delivery
from apibase.infrastructure.events.transports import Transport

__all__ = ["DeliveryRetry", "InProcessSink", "in_process_transport"]

_logger = logging.getLogger(__name__)


class DeliveryRetry(RuntimeError):  # noqa: N818 - reads as what the subscription asked for
    """A subscription asked for the event again: the relay keeps it and backs off."""


class InProcessSink:
    """``MessageSink`` that delivers to the dispatcher instead of a broker."""

    def __init__(self, dispatcher: EventDispatcher) -> None:
        self._dispatcher = dispatcher
        #: Events no subscription could ever handle, since the process started (there is no dead-letter topic).
        self.dropped = 0

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        for event in messages:
            outcome = await self._dispatcher.deliver(event)
            if outcome is Delivery.RETRY:
                raise DeliveryRetry(f"a subscription asked to retry event {event.get_id()} ({event.get_type()})")
            if outcome is Delivery.DROP:
                self.dropped += 1
                _logger.error(
                    "event %s (%s) dropped in process: no dead-letter topic keeps it",
                    event.get_id(),
                    event.get_type(),
                    extra={"event_id": event.get_id(), "event_type": event.get_type()},
                )


def in_process_transport(dispatcher: EventDispatcher) -> Transport:
    return Transport(sink=InProcessSink(dispatcher))
