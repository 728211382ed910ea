"""``InMemoryMessageSink``: a ``MessageSink`` that keeps what it is sent, for tests and tools.

Events leave the service only through the outbox (``apibase.infrastructure.events``): the relay hands the stored
CloudEvents to the transport's sink. This sink stands in for a broker where nothing should leave the process.

Public API: ``MessageSink``, ``InMemoryMessageSink``.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloudevents.core.base import BaseCloudEvent

from apibase.application.ports.messaging import MessageSink

__all__ = ["InMemoryMessageSink", "MessageSink"]


class InMemoryMessageSink:
    """Keeps every message it is sent, in order."""

    def __init__(self) -> None:
        self.sent: list[BaseCloudEvent] = []

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        self.sent.extend(messages)
