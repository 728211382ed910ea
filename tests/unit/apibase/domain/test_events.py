"""Domain events: immutable facts with ids, UTC timestamps, a stable type name and a schema version."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from pydantic import ValidationError

from apibase.domain.events import DomainEvent

pytestmark = pytest.mark.unit


class OrderPlaced(DomainEvent):
    total_cents: int


class OrderShipped(DomainEvent):
    schema_version: ClassVar[int] = 2

    carrier: str

    @classmethod
    def event_type(cls) -> str:
        return "orders.shipped"


def test_defaults_give_a_fresh_id_and_a_utc_timestamp() -> None:
    before = datetime.now(UTC)
    event = OrderPlaced(aggregate_id="order-1", total_cents=500)
    after = datetime.now(UTC)
    assert isinstance(event.event_id, uuid.UUID)
    assert event.event_id.version == 4
    assert event.occurred_at.tzinfo is UTC
    assert before <= event.occurred_at <= after


def test_event_ids_are_unique() -> None:
    events = [OrderPlaced(aggregate_id="order-1", total_cents=1) for _ in range(200)]
    assert len({event.event_id for event in events}) == 200


def test_explicit_values_are_kept() -> None:
    event_id = uuid.uuid4()
    moment = datetime(2024, 5, 1, tzinfo=UTC) - timedelta(days=1)
    event = OrderPlaced(event_id=event_id, occurred_at=moment, aggregate_id="order-1", total_cents=1)
    assert (event.event_id, event.occurred_at) == (event_id, moment)


def test_aggregate_id_is_required() -> None:
    with pytest.raises(ValidationError):
        OrderPlaced(total_cents=1)  # type: ignore[call-arg]


def test_events_are_frozen_and_hashable() -> None:
    event = OrderPlaced(aggregate_id="order-1", total_cents=1)
    with pytest.raises(ValidationError, match="frozen"):
        event.total_cents = 2  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        event.aggregate_id = "other"  # type: ignore[misc]
    assert len({event, event.model_copy()}) == 1
    assert event == event.model_copy()


def test_extra_fields_are_forbidden() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        OrderPlaced(aggregate_id="order-1", total_cents=1, note="x")  # type: ignore[call-arg]


def test_event_type_is_the_class_name_unless_overridden() -> None:
    assert DomainEvent.event_type() == "DomainEvent"
    assert OrderPlaced.event_type() == "OrderPlaced"
    assert OrderPlaced(aggregate_id="a", total_cents=1).event_type() == "OrderPlaced"
    assert OrderShipped.event_type() == "orders.shipped"


def test_schema_version_defaults_to_one_and_can_be_bumped() -> None:
    assert DomainEvent.schema_version == 1
    assert OrderPlaced.schema_version == 1
    assert OrderShipped.schema_version == 2
    assert OrderShipped(aggregate_id="a", carrier="dhl").schema_version == 2


def test_schema_version_is_class_level_not_payload() -> None:
    event = OrderShipped(aggregate_id="a", carrier="dhl")
    assert "schema_version" not in event.model_dump()
    assert set(event.model_dump()) == {"event_id", "occurred_at", "aggregate_id", "carrier"}


def test_json_round_trip() -> None:
    event = OrderPlaced(aggregate_id="order-1", total_cents=999)
    rebuilt = OrderPlaced.model_validate_json(event.model_dump_json())
    assert rebuilt == event
    assert rebuilt.occurred_at == event.occurred_at
