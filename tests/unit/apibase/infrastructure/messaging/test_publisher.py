"""CloudEventPublisher: the EventPublisher port on a message sink, one CloudEvent per committed domain event."""

from collections.abc import Sequence
from decimal import Decimal

import pytest
from cloudevents.core.v1.event import CloudEvent
from opentelemetry.sdk.trace import TracerProvider

from apibase.application.ports.events import EventPublisher
from apibase.core.context import correlation_id
from apibase.domain.events import DomainEvent
from apibase.infrastructure.messaging.publisher import CloudEventPublisher, InMemoryMessageSink

pytestmark = pytest.mark.unit


class InvoiceIssued(DomainEvent):
    customer_email: str
    currency: str
    total: Decimal
    line_count: int


class InvoicePaid(DomainEvent):
    currency: str
    total: Decimal


class CountingSink(InMemoryMessageSink):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    async def send(self, messages: Sequence[CloudEvent]) -> None:
        self.batches.append(len(messages))
        await super().send(messages)


def invoice_events() -> list[InvoiceIssued | InvoicePaid]:
    return [
        InvoiceIssued(
            aggregate_id="invoice-1", customer_email="ada@example.com", currency="EUR", total=Decimal(5), line_count=1
        ),
        InvoicePaid(aggregate_id="invoice-1", currency="EUR", total=Decimal(5)),
    ]


async def test_each_event_of_a_batch_becomes_one_cloud_event_in_one_send() -> None:
    sink = CountingSink()
    publisher: EventPublisher = CloudEventPublisher(sink, source="/billing-service")
    events = invoice_events()
    await publisher.publish(events)
    assert sink.batches == [2]
    assert [message.get_type() for message in sink.sent] == ["apibase.InvoiceIssued", "apibase.InvoicePaid"]
    assert [message.get_id() for message in sink.sent] == [str(event.event_id) for event in events]
    assert {message.get_source() for message in sink.sent} == {"/billing-service"}


async def test_the_sink_keeps_every_batch_in_order() -> None:
    sink = InMemoryMessageSink()
    publisher = CloudEventPublisher(sink, source="/billing-service")
    first, second = invoice_events()
    await publisher.publish([first])
    await publisher.publish([second])
    assert [message.get_id() for message in sink.sent] == [str(first.event_id), str(second.event_id)]


async def test_an_empty_batch_sends_nothing() -> None:
    sink = CountingSink()
    await CloudEventPublisher(sink, source="/billing-service").publish([])
    assert sink.batches == []


def test_a_source_is_required_when_wiring() -> None:
    with pytest.raises(ValueError, match="source is required"):
        CloudEventPublisher(InMemoryMessageSink(), source="")


async def test_envelopes_carry_the_span_and_correlation_id_active_when_publishing() -> None:
    sink = InMemoryMessageSink()
    publisher = CloudEventPublisher(sink, source="/billing-service")
    provider = TracerProvider()
    token = correlation_id.set("corr-9")
    try:
        with provider.get_tracer("t").start_as_current_span("command") as span:
            await publisher.publish(invoice_events())
    finally:
        correlation_id.reset(token)
        provider.shutdown()
    trace_id = f"{span.get_span_context().trace_id:032x}"
    assert all(f"-{trace_id}-" in str(message.get_extension("traceparent")) for message in sink.sent)
    assert {message.get_extension("correlationid") for message in sink.sent} == {"corr-9"}
