"""The broker seams: where the outbox relay sends events, and what receives the events a broker delivers.

``MessageSink`` is the one port every publisher implements (in-process, Dapr pubsub, Kafka, RabbitMQ): the relay
hands it a batch in outbox order and counts the batch sent only when ``send`` returns, so ``send`` returns only
once the broker has accepted every message (confirms, acks) and raises otherwise. ``EventDispatcher`` is the
other side: every way an event arrives (the Dapr and Knative routes, a Kafka or RabbitMQ consumer, the
in-process publisher) hands it to the dispatcher, which runs the matching subscriptions through the inbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cloudevents.core.base import BaseCloudEvent

from apibase.application.subscriptions import Delivery, Subscription

__all__ = ["EventDispatcher", "MessageSink"]


class MessageSink(Protocol):
    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        """Publish ``messages`` in order; return once the broker has accepted them all, raise otherwise."""
        ...


class EventDispatcher(Protocol):
    async def deliver(self, event: BaseCloudEvent, *, subscription: str | None = None) -> Delivery:
        """Run the subscription named ``subscription`` (or every subscription to the event's type) on ``event``."""
        ...

    def subscriptions(self) -> Sequence[Subscription]:
        """Every subscription the service's modules declared (consumers bind their queues and topics to these)."""
        ...
