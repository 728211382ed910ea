"""to_cloud_event and its consumer side: the envelope, W3C trace context, baggage and correlation id, JSON forms."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cloudevents.core.bindings.http import from_http_event, to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent
from opentelemetry import baggage, context, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from apibase.core.context import correlation_id, current_correlation_id
from apibase.domain.events import DomainEvent
from apibase.infrastructure.messaging.cloud_events import (
    cloud_event_type,
    continue_trace,
    correlation_id_of,
    to_cloud_event,
    trace_context_of,
)

pytestmark = pytest.mark.unit

SOURCE = "/billing-service"


class InvoiceIssued(DomainEvent):
    """A payload of every JSON kind an envelope carries; the Decimal must travel as an exact string."""

    customer_email: str
    currency: str
    total: Decimal
    line_count: int


class InvoiceSent(DomainEvent):
    pass


def issued(**overrides: object) -> InvoiceIssued:
    fields: dict[str, object] = {
        "aggregate_id": "invoice-1",
        "customer_email": "ada@example.com",
        "currency": "EUR",
        "total": Decimal("12.50"),
        "line_count": 2,
        **overrides,
    }
    return InvoiceIssued.model_validate(fields)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Iterator[trace.Tracer]:
    provider = TracerProvider()  # local: the global provider is never set
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("messaging-test")
    provider.shutdown()


@pytest.fixture
def bound_correlation_id() -> Iterator[str]:
    token = correlation_id.set("corr-42")
    yield "corr-42"
    correlation_id.reset(token)


@pytest.fixture
def with_baggage() -> Iterator[None]:
    token = context.attach(baggage.set_baggage("tier", "gold"))
    yield
    context.detach(token)


def traced(tracer: trace.Tracer, event: InvoiceIssued) -> tuple[CloudEvent, SpanContext]:
    with tracer.start_as_current_span("issue invoice") as span:
        return to_cloud_event(event, source=SOURCE), span.get_span_context()


def test_the_envelope_describes_the_domain_event() -> None:
    event = issued()
    cloud_event = to_cloud_event(event, source=SOURCE)
    assert cloud_event.get_specversion() == "1.0"
    assert cloud_event.get_id() == str(event.event_id)
    assert cloud_event.get_type() == "apibase.InvoiceIssued" == cloud_event_type(InvoiceIssued)
    assert cloud_event.get_source() == SOURCE
    assert cloud_event.get_subject() == "invoice-1"
    assert cloud_event.get_time() == event.occurred_at
    assert cloud_event.get_datacontenttype() == "application/json"
    assert cloud_event.get_extension("schemaversion") == InvoiceIssued.schema_version
    assert cloud_event.get_data() == event.model_dump(mode="json")
    assert cloud_event.get_data() == {
        "event_id": str(event.event_id),
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "aggregate_id": "invoice-1",
        "customer_email": "ada@example.com",
        "currency": "EUR",
        "total": "12.50",
        "line_count": 2,
    }


def test_the_same_event_keeps_its_id_so_redeliveries_can_be_deduplicated() -> None:
    event = issued()
    assert to_cloud_event(event, source=SOURCE).get_id() == to_cloud_event(event, source=SOURCE).get_id()
    assert to_cloud_event(issued(), source=SOURCE).get_id() != to_cloud_event(event, source=SOURCE).get_id()


def test_a_naive_occurrence_time_is_sent_as_utc() -> None:
    event = issued(occurred_at=datetime(2025, 1, 2, 3, 4, 5))  # naive on purpose
    assert to_cloud_event(event, source=SOURCE).get_time() == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_an_event_without_an_aggregate_id_has_no_subject() -> None:
    cloud_event = to_cloud_event(InvoiceSent(aggregate_id=""), source=SOURCE)
    assert cloud_event.get_subject() is None
    assert cloud_event.get_type() == "apibase.InvoiceSent"


@pytest.mark.usefixtures("with_baggage")
def test_inside_a_span_the_event_carries_trace_context_baggage_and_correlation_id(
    tracer: trace.Tracer, bound_correlation_id: str
) -> None:
    cloud_event, producer = traced(tracer, issued())
    flags = f"{int(producer.trace_flags):02x}"
    assert producer.trace_flags.sampled
    assert cloud_event.get_extension("traceparent") == f"00-{producer.trace_id:032x}-{producer.span_id:016x}-{flags}"
    assert cloud_event.get_extension("baggage") == "tier=gold"
    assert cloud_event.get_extension("correlationid") == bound_correlation_id
    assert correlation_id_of(cloud_event) == bound_correlation_id


def test_the_vendor_tracestate_travels_too() -> None:
    parent = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "opaque")]),
    )
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(parent)))
    try:
        cloud_event = to_cloud_event(issued(), source=SOURCE)
    finally:
        context.detach(token)
    assert cloud_event.get_extension("traceparent") == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert cloud_event.get_extension("tracestate") == "vendor=opaque"
    received = trace.get_current_span(trace_context_of(cloud_event)).get_span_context()
    assert received.trace_state.get("vendor") == "opaque"


@pytest.mark.usefixtures("with_baggage")
def test_a_consumer_span_continues_the_producer_trace(
    tracer: trace.Tracer, exporter: InMemorySpanExporter, bound_correlation_id: str
) -> None:
    cloud_event, producer = traced(tracer, issued())
    received = trace_context_of(cloud_event)
    with tracer.start_as_current_span("handle invoice issued", context=received) as consumer:
        pass
    assert consumer.get_span_context().trace_id == producer.trace_id
    [_, finished] = exporter.get_finished_spans()
    assert finished.parent is not None
    assert finished.parent.span_id == producer.span_id
    assert baggage.get_baggage("tier", received) == "gold"


def test_continue_trace_binds_the_producer_context_and_correlation_id_then_restores_the_consumer_s(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    token = correlation_id.set("corr-producer")
    attached = context.attach(baggage.set_baggage("tier", "gold"))
    try:
        cloud_event, producer = traced(tracer, issued())
    finally:
        context.detach(attached)
        correlation_id.reset(token)

    consumer_token = correlation_id.set("corr-consumer")
    try:
        with continue_trace(cloud_event):
            assert current_correlation_id() == "corr-producer"
            assert baggage.get_baggage("tier") == "gold"
            with tracer.start_as_current_span("handle"):
                pass
        assert current_correlation_id() == "corr-consumer"
        assert baggage.get_baggage("tier") is None
        assert not trace.get_current_span().get_span_context().is_valid
    finally:
        correlation_id.reset(consumer_token)
    [_, handled] = exporter.get_finished_spans()
    assert handled.context is not None
    assert handled.context.trace_id == producer.trace_id
    assert handled.parent is not None
    assert handled.parent.span_id == producer.span_id


def test_continue_trace_restores_the_context_when_the_handler_fails(tracer: trace.Tracer) -> None:
    cloud_event, _ = traced(tracer, issued())
    with pytest.raises(RuntimeError, match="handler broke"), continue_trace(cloud_event):
        raise RuntimeError("handler broke")
    assert not trace.get_current_span().get_span_context().is_valid
    assert current_correlation_id() is None


def test_outside_a_trace_the_event_carries_no_trace_attributes_and_consumers_start_fresh(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    cloud_event = to_cloud_event(issued(), source=SOURCE)
    for name in ("traceparent", "tracestate", "baggage", "correlationid"):
        assert name not in cloud_event.get_attributes()
    assert correlation_id_of(cloud_event) is None
    with continue_trace(cloud_event), tracer.start_as_current_span("handle"):
        assert current_correlation_id() is None
    [handled] = exporter.get_finished_spans()
    assert handled.parent is None


@pytest.mark.usefixtures("with_baggage")
def test_baggage_travels_even_without_a_span() -> None:
    cloud_event = to_cloud_event(issued(), source=SOURCE)
    assert cloud_event.get_extension("baggage") == "tier=gold"
    assert cloud_event.get_extension("traceparent") is None


def test_a_garbled_traceparent_starts_a_new_trace_instead_of_failing(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    garbled = CloudEvent(
        {"type": "apibase.InvoiceIssued", "source": SOURCE, "traceparent": "00-not-a-trace", "correlationid": 7}
    )
    assert not trace.get_current_span(trace_context_of(garbled)).get_span_context().is_valid
    assert correlation_id_of(garbled) is None  # not a string: ignored rather than trusted
    with tracer.start_as_current_span("handle", context=trace_context_of(garbled)):
        pass
    [handled] = exporter.get_finished_spans()
    assert handled.parent is None


@pytest.mark.usefixtures("with_baggage")
def test_the_json_structured_form_round_trips(tracer: trace.Tracer, bound_correlation_id: str) -> None:
    cloud_event, producer = traced(tracer, issued())
    message = to_structured_event(cloud_event)
    assert message.headers["content-type"] == "application/cloudevents+json"
    body = json.loads(message.body)
    assert body["traceparent"] == cloud_event.get_extension("traceparent")
    assert body["correlationid"] == bound_correlation_id
    assert body["data"]["total"] == "12.50"

    received = from_http_event(message)
    assert received.get_attributes() == cloud_event.get_attributes()
    assert received.get_data() == cloud_event.get_data()
    assert InvoiceIssued.model_validate(received.get_data()) == issued(
        event_id=uuid.UUID(cloud_event.get_id()), occurred_at=cloud_event.get_time()
    )
    assert trace.get_current_span(trace_context_of(received)).get_span_context().span_id == producer.span_id
    assert correlation_id_of(received) == bound_correlation_id


def test_the_binary_http_form_carries_the_trace_in_ce_headers(tracer: trace.Tracer, bound_correlation_id: str) -> None:
    cloud_event, producer = traced(tracer, issued())
    message = to_binary_event(cloud_event)
    assert message.headers["ce-traceparent"] == cloud_event.get_extension("traceparent")
    received = from_http_event(message)
    assert trace.get_current_span(trace_context_of(received)).get_span_context().trace_id == producer.trace_id
    assert correlation_id_of(received) == bound_correlation_id
    assert received.get_data() == cloud_event.get_data()
