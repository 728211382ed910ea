"""StoredCloudEvent: what the relay reads back is the CloudEvent that was stored, to every binding."""

from __future__ import annotations

import json

import pytest
from cloudevents.core.bindings.http import from_binary, to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from apibase.domain.events import DomainEvent
from apibase.infrastructure.events.outbox import envelope_of
from apibase.infrastructure.events.stored_event import read_envelope
from apibase.infrastructure.persistence.tenancy import tenant_scope

pytestmark = pytest.mark.unit


class TicketSold(DomainEvent):
    seat: str


def stored() -> str:
    with tenant_scope("acme"):
        return envelope_of(TicketSold(aggregate_id="show-1", seat="A7"), source="/box-office")


def test_reads_back_what_the_sdk_reads() -> None:
    envelope = stored()
    ours, sdks = read_envelope(envelope), JSONFormat().read(CloudEvent, envelope)

    assert ours.get_attributes() == sdks.get_attributes()
    assert ours.get_data() == sdks.get_data()
    for getter in ("get_id", "get_source", "get_type", "get_specversion", "get_subject", "get_time"):
        assert getattr(ours, getter)() == getattr(sdks, getter)()
    assert ours.get_datacontenttype() == "application/json"
    assert ours.get_dataschema() is None
    assert ours.get_extension("tenantid") == "acme"
    assert ours.get_extension("id") is None  # a named attribute is no extension


def test_every_binding_writes_it_as_the_sdk_event() -> None:
    envelope = stored()
    ours, sdks = read_envelope(envelope), JSONFormat().read(CloudEvent, envelope)

    assert json.loads(to_structured(ours, JSONFormat()).body) == json.loads(to_structured(sdks, JSONFormat()).body)
    binary = to_binary(ours, JSONFormat())
    assert binary.headers == to_binary(sdks, JSONFormat()).headers
    assert binary.body == to_binary(sdks, JSONFormat()).body
    assert from_binary(binary, JSONFormat()).get_id() == sdks.get_id()


def test_binary_data_comes_back_as_bytes() -> None:
    envelope = JSONFormat().write(CloudEvent({"id": "1", "source": "/s", "type": "t"}, b"\x00\xff")).decode()

    assert read_envelope(envelope).get_data() == b"\x00\xff"


@pytest.mark.parametrize(
    ("envelope", "error"),
    [
        ("{not json", ValueError),
        ("[1, 2]", TypeError),
        ('{"id": "1", "source": "/s", "specversion": "1.0"}', ValueError),
        ('{"id": "1", "source": "/s", "type": "t", "specversion": "1.0", "time": "yesterday"}', ValueError),
    ],
)
def test_a_corrupt_envelope_raises(envelope: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_envelope(envelope)
