"""The ``EventPublisher`` port on top of a message sink: each domain event leaves as one CloudEvent.

The sink is the broker seam (Kafka, NATS, an outbox table, ...): it receives a whole batch, the events one
transaction committed, so an adapter can send them in one round trip or one outbox insert. The envelopes are
built when ``publish`` is called, inside the request or command span, which is what puts that span's trace
context on every message.

Public API: ``CloudEventPublisher(sink, *, source)``, ``MessageSink``, ``InMemoryMessageSink``.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloudevents.core.base import BaseCloudEvent

from apibase.application.ports.messaging import MessageSink
from apibase.domain.events import DomainEvent
from apibase.infrastructure.messaging.cloud_events import to_cloud_event

__all__ = ["CloudEventPublisher", "InMemoryMessageSink", "MessageSink"]


class InMemoryMessageSink:
    """Keeps every message it is sent, in order: the reference service's broker stand-in, and for tests."""

    def __init__(self) -> None:
        self.sent: list[BaseCloudEvent] = []

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        self.sent.extend(messages)


class CloudEventPublisher:
    """``EventPublisher`` that hands ``sink`` one CloudEvent per domain event, tagged with ``source``."""

    def __init__(self, sink: MessageSink, *, source: str) -> None:
        if not source:
            # Checked at wiring time: CloudEvents requires a source, and publishing happens after a commit.
            raise ValueError("a CloudEvents source is required, e.g. '/<service name>'")
        self._sink = sink
        self._source = source

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        if events:
            await self._sink.send([to_cloud_event(event, source=self._source) for event in events])
