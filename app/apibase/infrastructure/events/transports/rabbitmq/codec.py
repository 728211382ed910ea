"""The wire form of an event on RabbitMQ: the CloudEvents RabbitMQ binding, structured content mode.

The whole CloudEvent (``id``, ``type``, ``traceparent``, ``correlationid``, ``tenantid``, ``data``…) is the JSON body
with content type ``application/cloudevents+json``, exactly the envelope the outbox stored. The AMQP properties
repeat what tools and the broker can use without parsing it: ``message_id`` (the event id), ``type``,
``correlation_id``, ``timestamp``; messages are persistent. Reading accepts both content modes (binary: ``ce-``
headers), as the binding's ``from_rabbitmq`` does.
"""

from __future__ import annotations

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractMessage
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import rabbitmq

from apibase.infrastructure.messaging.cloud_events import correlation_id_of

__all__ = ["MalformedMessage", "from_message", "to_message"]

_CE_PREFIX = "ce-"


class MalformedMessage(ValueError):  # noqa: N818 - reads as the verdict it reports
    """A delivery that is no CloudEvent: it is dead-lettered, never retried."""


def to_message(event: BaseCloudEvent) -> Message:
    wire = rabbitmq.to_structured_event(event)
    return Message(
        wire.body,
        content_type=wire.content_type,
        delivery_mode=DeliveryMode.PERSISTENT,
        message_id=event.get_id(),
        type=event.get_type(),
        correlation_id=correlation_id_of(event),
        timestamp=event.get_time(),
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def from_message(message: AbstractMessage) -> BaseCloudEvent:
    """The CloudEvent ``message`` carries; ``MalformedMessage`` when it carries none."""
    headers = {
        name: _text(value) for name, value in (message.headers or {}).items() if name.lower().startswith(_CE_PREFIX)
    }
    wire = rabbitmq.RabbitMQMessage(headers=headers, content_type=message.content_type, body=message.body)
    try:
        return rabbitmq.from_rabbitmq_event(wire)
    except Exception as error:  # the SDK raises ValueError, KeyError, TypeError… for as many kinds of garbage
        raise MalformedMessage(f"not a CloudEvent: {error}") from error
