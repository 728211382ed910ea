"""The Dapr publisher: each CloudEvent goes to the sidecar's pubsub component through the official SDK.

The event is sent as ``application/cloudevents+json``, the structured CloudEvent itself: daprd then keeps it as
the envelope it delivers (id, type, source, subject, ``correlationid``, ``tenantid``, ``baggage``) instead of
wrapping it in one of its own, adding ``topic`` and ``pubsubname``. Its ``traceparent`` daprd takes from the
publish call, so each call carries the event's trace as gRPC metadata (``call_metadata``): the subscriber joins
the producer's trace. ``publish_event`` returns once the component accepted the message, so ``send`` returns
only when every event of the batch did, in order.
Delivery is pushed by daprd to the app's routes (``GET /dapr/subscribe``): no consumer runs here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat

from apibase.core.settings import Settings
from apibase.infrastructure.dapr.call_metadata import call_metadata
from apibase.infrastructure.dapr.client import DaprSidecar
from apibase.infrastructure.events.transports import Transport

__all__ = ["DaprMessageSink", "dapr_transport"]

_FORMAT = JSONFormat()
#: daprd sets the delivered envelope's trace from the publish call's own, so the event's travels as call metadata.
_TRACE = ("traceparent", "tracestate")


class DaprMessageSink:
    """``MessageSink`` on the sidecar's pubsub ``pubsub``, every event to ``topic``."""

    def __init__(self, sidecar: DaprSidecar, *, pubsub: str, topic: str) -> None:
        self._sidecar = sidecar
        self._pubsub = pubsub
        self._topic = topic

    def __repr__(self) -> str:
        return f"DaprMessageSink({self._pubsub!r}, topic={self._topic!r}, {self._sidecar!r})"

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        client = await self._sidecar.client()
        for message in messages:
            trace = [(name, value) for name in _TRACE if isinstance(value := message.get_extension(name), str)]
            async with asyncio.timeout(self._sidecar.timeout_seconds):
                with call_metadata(trace):
                    await client.publish_event(
                        pubsub_name=self._pubsub,
                        topic_name=self._topic,
                        data=_FORMAT.write(message),
                        data_content_type=_FORMAT.get_content_type(),
                    )

    async def check(self) -> None:
        """Readiness: the sidecar answers its metadata call (and so the gRPC API the sink uses) in time."""
        client = await self._sidecar.client()
        async with asyncio.timeout(self._sidecar.timeout_seconds):
            await client.get_metadata()


def dapr_transport(settings: Settings, shared: DaprSidecar | None = None) -> Transport:
    """The sink on ``settings.dapr.pubsub``/``settings.events_topic``, through ``shared`` (whose owner closes it)
    or a sidecar client of its own (closed when the transport stops).

    Nothing waits for the sidecar at start-up (it may come up after the app): the client opens on the first send
    or readiness check, and closes when the app stops.
    """
    sidecar = shared or DaprSidecar(settings.dapr)
    sink = DaprMessageSink(sidecar, pubsub=settings.dapr.pubsub, topic=settings.events_topic)
    return Transport(sink=sink, stop=None if shared is not None else sidecar.close, check=sink.check)
