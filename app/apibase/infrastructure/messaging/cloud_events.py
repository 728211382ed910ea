"""Domain events as CloudEvents 1.0, with the W3C trace context and the correlation id riding along.

The envelope comes from the ``cloudevents`` SDK (2.x ``cloudevents.core`` API: typed, and its JSON format and
HTTP/Kafka/AMQP bindings give every broker adapter the same wire form). Attributes of an event:

- ``id``: the domain event's ``event_id``, so a redelivered message keeps its id and consumers can deduplicate;
- ``type``: ``apibase.<event_type()>`` (e.g. ``apibase.OrderPlaced``). The prefix is the reverse-DNS-free
  namespace of events produced by services built on this base; the rest is the stable name the domain event
  already declares for routing and storage, so renaming a class does not rename its messages if ``event_type``
  is pinned;
- ``source`` (given by the publisher, e.g. ``/orders-service``), ``subject`` (the aggregate id), ``time`` (when the
  fact occurred, not when it was sent), ``datacontenttype`` ``application/json`` and ``data`` (the event's JSON);
- ``schemaversion``: the event class's ``schema_version``, so a consumer can tell payload shapes apart;
- ``traceparent``/``tracestate`` (the CloudEvents Distributed Tracing extension) and ``baggage``, written by the
  same propagator as outgoing HTTP calls; absent when there is nothing to propagate;
- ``correlationid``: the business flow's id from ``apibase.core.context``, when one is bound;
- ``tenantid``: the tenant the change was made for, when one is bound: subscribers handle the event for it.

Consumers call ``continue_trace(cloud_event)`` around their handler (or use ``trace_context_of`` and
``correlation_id_of`` directly) so their spans continue the producer's trace under the same correlation id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent
from opentelemetry import context as otel_context
from opentelemetry.context import Context

from apibase.core.context import correlation_id, current_tenant
from apibase.domain.events import DomainEvent
from apibase.infrastructure.observability.tracing import CORRELATION_HEADER, extract_trace_context, inject_trace_context

__all__ = [
    "CORRELATION_ATTRIBUTE",
    "EVENT_TYPE_PREFIX",
    "TENANT_ATTRIBUTE",
    "cloud_event_type",
    "continue_trace",
    "correlation_id_of",
    "tenant_of",
    "to_cloud_event",
    "trace_context_of",
]

EVENT_TYPE_PREFIX = "apibase."
CORRELATION_ATTRIBUTE = "correlationid"
TENANT_ATTRIBUTE = "tenantid"
_SCHEMA_VERSION_ATTRIBUTE = "schemaversion"
# Carrier keys the W3C propagators write; they are valid extension names as they are (lowercase alphanumerics).
_TRACE_ATTRIBUTES = ("traceparent", "tracestate", "baggage")


def cloud_event_type(event_type: type[DomainEvent]) -> str:
    """The CloudEvents ``type`` of a domain event class; consumers subscribe by this name."""
    return EVENT_TYPE_PREFIX + event_type.event_type()


def to_cloud_event(event: DomainEvent, *, source: str) -> CloudEvent:
    """Wrap ``event`` in an envelope that carries the current trace context, baggage and correlation id."""
    carrier: dict[str, str] = {}
    inject_trace_context(carrier)
    occurred_at = event.occurred_at
    attributes: dict[str, object] = {
        "id": str(event.event_id),
        "source": source,
        "type": cloud_event_type(type(event)),
        # CloudEvents requires an aware time; a naive one can only have come from code that meant UTC.
        "time": occurred_at if occurred_at.tzinfo is not None else occurred_at.replace(tzinfo=UTC),
        "datacontenttype": "application/json",
        _SCHEMA_VERSION_ATTRIBUTE: event.schema_version,
    }
    if event.aggregate_id:
        attributes["subject"] = event.aggregate_id
    attributes.update({name: carrier[name] for name in _TRACE_ATTRIBUTES if carrier.get(name)})
    if correlation := carrier.get(CORRELATION_HEADER):
        attributes[CORRELATION_ATTRIBUTE] = correlation
    if tenant := current_tenant():
        attributes[TENANT_ATTRIBUTE] = tenant
    return CloudEvent(attributes, event.model_dump(mode="json"))


def trace_context_of(cloud_event: BaseCloudEvent) -> Context:
    """The producer's trace context and baggage; an empty context when the message carries none (or garbage)."""
    carrier = {name: value for name in _TRACE_ATTRIBUTES if isinstance(value := cloud_event.get_extension(name), str)}
    return extract_trace_context(carrier)


def correlation_id_of(cloud_event: BaseCloudEvent) -> str | None:
    value = cloud_event.get_extension(CORRELATION_ATTRIBUTE)
    return value if isinstance(value, str) and value else None


def tenant_of(cloud_event: BaseCloudEvent) -> str | None:
    value = cloud_event.get_extension(TENANT_ATTRIBUTE)
    return value if isinstance(value, str) and value else None


@contextmanager
def continue_trace(cloud_event: BaseCloudEvent) -> Iterator[None]:
    """Handle a received message inside its producer's trace and correlation id; both are restored on exit."""
    trace_token = otel_context.attach(trace_context_of(cloud_event))
    correlation_token = correlation_id.set(correlation_id_of(cloud_event))
    try:
        yield
    finally:
        correlation_id.reset(correlation_token)
        otel_context.detach(trace_token)
