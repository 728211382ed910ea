"""CloudEvents as Kafka records: binary mode out, either mode in, the aggregate id as key, dead letters kept whole."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings import kafka as kafka_binding
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from apibase.infrastructure.events.transports.kafka_records import (
    DEAD_LETTER_REASON_HEADER,
    MalformedRecordError,
    dead_letter_record,
    dead_letter_topic,
    from_record,
    to_record,
)

pytestmark = pytest.mark.unit


def _event(**attributes: object) -> CloudEvent:
    return CloudEvent(
        {
            "id": "e-1",
            "source": "/orders",
            "type": "apibase.OrderPlaced",
            "time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "datacontenttype": "application/json",
            **attributes,
        },
        {"order_id": "o-1", "total": "9.50"},
    )


def test_an_event_becomes_a_binary_mode_record_keyed_by_its_aggregate() -> None:
    record = to_record(_event(subject="o-1", tenantid="t-1", correlationid="c-1", traceparent="00-ab-cd-01"))

    headers = dict(record.headers)
    assert record.key == b"o-1"
    assert headers["ce_id"] == b"e-1"
    assert headers["ce_type"] == b"apibase.OrderPlaced"
    assert headers["ce_time"] == b"2026-01-02T03:04:05Z"
    assert headers["ce_tenantid"] == b"t-1"
    assert headers["ce_correlationid"] == b"c-1"
    assert headers["ce_traceparent"] == b"00-ab-cd-01"
    assert headers["content-type"] == b"application/json"
    assert record.value == b'{"order_id": "o-1", "total": "9.50"}'


def test_an_event_of_no_aggregate_has_no_key() -> None:
    assert to_record(_event()).key is None


def test_a_record_reads_back_as_the_event_that_was_published() -> None:
    published = _event(subject="o-1", tenantid="t-1")
    record = to_record(published)

    received = from_record(record.headers, record.value)

    assert received.get_attributes() == published.get_attributes()  # no partitionkey added from the key
    assert received.get_data() == published.get_data()


def test_a_structured_mode_record_is_read_too() -> None:
    message = kafka_binding.to_structured(_event(subject="o-1"), JSONFormat())

    received = from_record(message.headers.items(), message.value)

    assert received.get_id() == "e-1"
    assert received.get_subject() == "o-1"


@pytest.mark.parametrize(
    ("headers", "value"),
    [
        ([], b"not json"),
        ([], b'{"no": "attributes"}'),
        ([("ce_id", b"1"), ("ce_source", b"/s")], b"{}"),
        ([("ce_id", b"\xff"), ("ce_source", b"/s"), ("ce_type", b"t"), ("ce_specversion", b"1.0")], b"{}"),
        ([("ce_id", b"1"), ("ce_source", b"/s"), ("ce_type", b"t"), ("ce_time", b"yesterday")], b"{}"),
        ([], None),
    ],
    ids=["garbage", "json-but-no-event", "missing-type", "not-utf8", "bad-time", "tombstone"],
)
def test_a_record_that_is_no_cloud_event_is_malformed(headers: list[tuple[str, bytes]], value: bytes | None) -> None:
    with pytest.raises(MalformedRecordError):
        from_record(headers, value)


def test_a_dead_letter_keeps_the_record_and_says_why_once() -> None:
    headers = [("ce_id", b"e-1"), (DEAD_LETTER_REASON_HEADER, b"an older reason")]

    letter = dead_letter_record(b"o-1", b"{}", headers, "drop")

    assert letter.key == b"o-1"
    assert letter.value == b"{}"
    assert letter.headers == (("ce_id", b"e-1"), (DEAD_LETTER_REASON_HEADER, b"drop"))
    assert dead_letter_topic("shop.events") == "shop.events.dead-letter"
