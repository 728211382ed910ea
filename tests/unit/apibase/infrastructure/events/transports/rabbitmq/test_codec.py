"""Events on the wire: structured CloudEvents JSON with the AMQP properties tools read, and both modes read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aio_pika import DeliveryMode, Message
from cloudevents.core.v1.event import CloudEvent

from apibase.infrastructure.events.transports.rabbitmq.codec import MalformedMessage, from_message, to_message

pytestmark = pytest.mark.unit

OCCURRED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _event() -> CloudEvent:
    attributes = {
        "id": "e-1",
        "source": "/shop",
        "type": "apibase.OrderPlaced",
        "time": OCCURRED,
        "subject": "order-9",
        "datacontenttype": "application/json",
        "traceparent": TRACEPARENT,
        "correlationid": "flow-1",
        "tenantid": "acme",
    }
    return CloudEvent(attributes, {"order_id": "order-9"})


def test_an_event_is_a_persistent_structured_message_that_reads_back_the_same() -> None:
    message = to_message(_event())
    assert message.content_type == "application/cloudevents+json"
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert (message.message_id, message.type, message.correlation_id) == ("e-1", "apibase.OrderPlaced", "flow-1")
    body = json.loads(message.body)
    assert (body["traceparent"], body["tenantid"], body["data"]) == (TRACEPARENT, "acme", {"order_id": "order-9"})
    back = from_message(message)
    assert back.get_attributes() == _event().get_attributes()
    assert back.get_data() == {"order_id": "order-9"}


def test_binary_content_mode_is_read_from_ce_headers() -> None:
    headers: dict[str, object] = {
        "ce-id": b"e-2",
        "ce-source": "/other",
        "ce-type": "apibase.OrderShipped",
        "ce-specversion": "1.0",
        "ce-tenantid": "acme",
        "x-apibase-attempt": 2,
    }
    event = from_message(Message(b'{"n": 1}', content_type="application/json", headers=headers))  # type: ignore[arg-type]
    assert (event.get_id(), event.get_type(), event.get_extension("tenantid")) == (
        "e-2",
        "apibase.OrderShipped",
        "acme",
    )
    assert event.get_data() == {"n": 1}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/cloudevents+json"),
        (b"[]", "application/cloudevents+json"),
        (b'{"id": "x", "specversion": "1.0"}', "application/cloudevents+json"),
        (b'{"n": 1}', "application/json"),
        (b"", None),
    ],
    ids=["garbage", "array", "no-type", "binary-without-headers", "empty"],
)
def test_anything_else_is_malformed(body: bytes, content_type: str | None) -> None:
    with pytest.raises(MalformedMessage):
        from_message(Message(body, content_type=content_type))
