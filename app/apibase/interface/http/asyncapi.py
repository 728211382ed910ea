"""``/asyncapi.json``: the events this service publishes and consumes, as an AsyncAPI 3.0 document.

Built once, when the app is, from every module's ``Features.published_events`` (``send`` operations) and
``Features.subscriptions`` (``receive`` operations), so it cannot drift from what the outbox and the dispatcher
do. Like the OpenAPI documents it is public: it describes shapes, not data.

- One channel per topic: the service's own (``Settings.events_topic``, every event it publishes, so order per
  aggregate survives) and any other topic a subscription reads.
- A message per CloudEvents ``type`` (``apibase.<EventType>``): the payload is the event class's JSON Schema
  (the CloudEvent's ``data``), the headers are the CloudEvents context attributes with this service's
  extensions (``traceparent``, ``correlationid``, ``tenantid``...): the envelope's members in structured mode
  (``application/cloudevents+json``), the ``ce-``/``ce_`` headers or properties in binary mode.
- A subscription to an event this service does not publish names the message by its type only: its payload is
  the producer's (see the producer's document).
- Kafka and RabbitMQ bindings say how the chosen publisher keys and routes messages (aggregate id; event type).

The versioned OpenAPI documents link to it (``externalDocs``) when the service has events.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema

from apibase.application.subscriptions import Subscription
from apibase.core.settings import Settings
from apibase.domain.events import DomainEvent
from apibase.infrastructure.messaging.cloud_events import CORRELATION_ATTRIBUTE, TENANT_ATTRIBUTE, cloud_event_type
from apibase.module import Features

__all__ = [
    "ASYNCAPI_PATH",
    "ASYNCAPI_VERSION",
    "asyncapi_document",
    "asyncapi_router",
    "link_from_openapi",
]

ASYNCAPI_PATH: Final = "/asyncapi.json"
ASYNCAPI_VERSION: Final = "3.0.0"
_SCHEMAS_REF: Final = "#/components/schemas/{model}"
#: Keys of channels, messages and operations (AsyncAPI 3.0: ``^[\w\d.\-_]+$``).
_UNSAFE_KEY = re.compile(r"[^\w.\-]")
_KAFKA_BINDING_VERSION: Final = "0.5.0"
_AMQP_BINDING_VERSION: Final = "0.3.0"

type Document = dict[str, object]


def _key(name: str) -> str:
    return _UNSAFE_KEY.sub("_", name)


def _summary(event: type[DomainEvent]) -> str:
    doc = (event.__doc__ or "").strip()
    own = event.__dict__.get("__doc__") is not None
    return doc.splitlines()[0] if own and doc else f"{event.event_type()} happened"


def _headers(event_type: str, schema_version: int | None) -> Document:
    """The CloudEvents context attributes of one message (``to_cloud_event`` writes exactly these)."""
    text: Document = {"type": "string"}
    version: Document = {"type": "integer", "minimum": 1}
    if schema_version is not None:
        version = {"type": "integer", "const": schema_version}
    return {
        "type": "object",
        "description": "CloudEvents 1.0 context attributes: the envelope's members in structured mode "
        "(application/cloudevents+json), the ce- headers or properties in binary mode.",
        "required": ["specversion", "id", "source", "type"],
        "properties": {
            "specversion": {"type": "string", "const": "1.0"},
            "id": {
                "type": "string",
                "format": "uuid",
                "description": "The domain event's id: a redelivered event keeps it, so consumers deduplicate by it",
            },
            "source": {"type": "string", "format": "uri-reference", "description": "The producing service"},
            "type": {"type": "string", "const": event_type},
            "subject": {"type": "string", "description": "The id of the aggregate the event happened to"},
            "time": {"type": "string", "format": "date-time", "description": "When the fact occurred"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "schemaversion": {**version, "description": "The payload's shape version"},
            "traceparent": {**text, "description": "W3C trace context of the change that raised the event"},
            "tracestate": {**text, "description": "W3C trace state"},
            "baggage": {**text, "description": "W3C baggage"},
            CORRELATION_ATTRIBUTE: {**text, "description": "The business flow's correlation id"},
            TENANT_ATTRIBUTE: {**text, "description": "The tenant the change was made for; handlers run for it"},
        },
    }


def _correlation_id() -> Document:
    return {
        "description": "The business flow's correlation id, shared with the HTTP request that raised the event",
        "location": f"$message.header#/{CORRELATION_ATTRIBUTE}",
    }


def _bindings(settings: Settings) -> tuple[Document | None, Document | None]:
    """Channel and message bindings of the chosen publisher: how it routes (RabbitMQ) or keys (Kafka) messages."""
    publisher = settings.events.publisher
    if publisher == "kafka":
        key = {"type": "string", "description": "The aggregate id: one partition keeps an aggregate's order"}
        return None, {"kafka": {"key": key, "bindingVersion": _KAFKA_BINDING_VERSION}}
    if publisher == "rabbitmq":
        name = settings.events.rabbitmq_exchange or settings.events_topic
        exchange: Document = {"name": name, "type": "topic", "durable": True}
        channel: Document = {
            "amqp": {"is": "routingKey", "exchange": exchange, "bindingVersion": _AMQP_BINDING_VERSION}
        }
        return channel, None
    return None, None


def _unique_events(published: Iterable[type[DomainEvent]]) -> dict[str, type[DomainEvent]]:
    """The published classes by CloudEvents type; two classes claiming one type would make one message lie."""
    events: dict[str, type[DomainEvent]] = {}
    for event in published:
        event_type = cloud_event_type(event)
        if events.setdefault(event_type, event) is not event:
            raise ValueError(f"{events[event_type].__qualname__} and {event.__qualname__} both publish {event_type}")
    return events


def asyncapi_document(
    published: Iterable[type[DomainEvent]],
    subscriptions: Iterable[Subscription],
    settings: Settings,
    *,
    title: str,
) -> Document:
    """The AsyncAPI 3.0 document of these events and subscriptions; raises ``ValueError`` on a type clash."""
    events = _unique_events(published)
    own_topic = settings.events_topic
    channel_bindings, message_bindings = _bindings(settings)
    refs, definitions = models_json_schema(
        [(event, "serialization") for event in events.values()], ref_template=_SCHEMAS_REF
    )
    channels: dict[str, Document] = {}
    channel_messages: dict[str, dict[str, Document]] = {}
    messages: dict[str, Document] = {}
    operations: dict[str, Document] = {}

    def channel(topic: str) -> str:
        key = _key(topic)
        if key not in channels:
            channel_messages[key] = {}
            channels[key] = {"address": topic, "title": topic, "messages": channel_messages[key]}
            if topic == own_topic and channel_bindings is not None:
                channels[key]["bindings"] = channel_bindings
        return key

    def message(event_type: str, topic: str) -> Document:
        """A reference to the message of ``event_type`` in the channel of ``topic`` (added on first use)."""
        key, channel_key = _key(event_type), channel(topic)
        if key not in messages:
            event = events.get(event_type)
            messages[key] = {
                "name": event_type,
                "title": event.event_type() if event is not None else event_type,
                "contentType": "application/json",
                "headers": _headers(event_type, event.schema_version if event is not None else None),
                "correlationId": _correlation_id(),
            }
            if event is not None:
                messages[key]["summary"] = _summary(event)
                messages[key]["payload"] = refs[(event, "serialization")]
                if message_bindings is not None:
                    messages[key]["bindings"] = message_bindings
            else:
                messages[key]["description"] = "Published by another service: the payload is the producer's."
        channel_messages[channel_key][key] = {"$ref": f"#/components/messages/{key}"}
        return {"$ref": f"#/channels/{channel_key}/messages/{key}"}

    for event_type, event in events.items():
        ref = message(event_type, own_topic)
        operations[_key(f"send.{event_type}")] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel(own_topic)}"},
            "title": f"Publish {event.event_type()}",
            "summary": _summary(event),
            "messages": [ref],
        }
    for subscription in subscriptions:
        topic = subscription.topic or own_topic
        ref = message(subscription.event_type, topic)
        operations[_key(f"receive.{subscription.name}")] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel(topic)}"},
            "title": subscription.name,
            "summary": f"Handles {subscription.event_type} at least once; a redelivered event id is a no-op",
            "messages": [ref],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": f"{title} events",
            "version": settings.observability.service_version,
            "description": f"Domain events of {settings.service_name} as CloudEvents 1.0: published through a "
            "transactional outbox, at least once and in order per aggregate; consumers deduplicate by event id.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": definitions.get("$defs", {}), "messages": messages},
    }


def _collect(features: Sequence[Features]) -> tuple[list[type[DomainEvent]], list[Subscription]]:
    published = [event for built in features for event in built.published_events]
    subscriptions = [subscription for built in features for subscription in built.subscriptions]
    return published, subscriptions


def asyncapi_router(features: Sequence[Features], settings: Settings, *, title: str) -> APIRouter:
    """``GET /asyncapi.json`` serving the document of every module's events (built now: a clash fails the build)."""
    published, subscriptions = _collect(features)
    document = asyncapi_document(published, subscriptions, settings, title=title)
    router = APIRouter(tags=["events"])

    @router.get(ASYNCAPI_PATH, summary="The AsyncAPI 3.0 document of this service's events", include_in_schema=False)
    async def asyncapi() -> JSONResponse:
        return JSONResponse(document)

    return router


def _linked(generate: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        schema = generate()
        schema.setdefault(
            "externalDocs",
            {"description": "Events this service publishes and consumes (AsyncAPI 3.0)", "url": ASYNCAPI_PATH},
        )
        return schema

    return openapi


def link_from_openapi(apps: Iterable[FastAPI], features: Sequence[Features]) -> None:
    """Point each OpenAPI document at the AsyncAPI one (``externalDocs``) when the service has events at all."""
    published, subscriptions = _collect(features)
    if published or subscriptions:
        for app in apps:
            app.openapi = _linked(app.openapi)  # type: ignore[method-assign]
