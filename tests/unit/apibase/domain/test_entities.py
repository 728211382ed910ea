"""Entities: identity equality, UTC timestamps, soft delete, auditing, versions and aggregate events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from apibase.domain.entities import (
    AggregateRoot,
    AuditableEntity,
    BaseEntity,
    Identifiable,
    VersionedEntity,
    utc_now,
)
from apibase.domain.events import DomainEvent

pytestmark = pytest.mark.unit

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


class Note(BaseEntity[int]):
    text: str


class Memo(BaseEntity[int]):
    text: str


class PinnedNote(Note):
    pass


class Document(AuditableEntity[str]):
    title: str


class Page(VersionedEntity[int]):
    body: str = ""


class Basket(AggregateRoot[uuid.UUID]):
    items: tuple[str, ...] = ()

    def add(self, item: str) -> None:
        self.items = (*self.items, item)
        self.record_event(ItemAdded(aggregate_id=str(self.id), item=item))


class ItemAdded(DomainEvent):
    item: str


def test_utc_now_is_aware_utc() -> None:
    now = utc_now()
    assert now.tzinfo is UTC
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)


# -------------------------------------------------------------------------------------- identity


def test_equal_when_type_and_id_are_equal_whatever_else_differs() -> None:
    assert Note(id=1, text="a") == Note(id=1, text="b", created_at=T0)
    assert Note(id=1, text="a") != Note(id=2, text="a")


def test_different_types_with_the_same_id_are_not_equal() -> None:
    assert Note(id=1, text="a") != Memo(id=1, text="a")
    assert Note(id=1, text="a") != PinnedNote(id=1, text="a")
    assert PinnedNote(id=1, text="a") != Note(id=1, text="a")


def test_not_equal_to_non_entities() -> None:
    note = Note(id=1, text="a")
    assert note != 1
    assert note != SimpleNamespace(id=1, text="a")
    assert note != {"id": 1, "text": "a"}


def test_hash_follows_type_and_id() -> None:
    assert hash(Note(id=1, text="a")) == hash(Note(id=1, text="b"))
    assert {Note(id=1, text="a"), Note(id=1, text="b"), Note(id=2, text="a")} == {
        Note(id=1, text=""),
        Note(id=2, text=""),
    }
    assert len({Note(id=1, text="a"), Memo(id=1, text="a")}) == 2


def test_hash_stays_stable_when_other_fields_change() -> None:
    note = Note(id=1, text="a")
    notes = {note}
    note.text = "changed"
    note.touch()
    assert note in notes


# ------------------------------------------------------------------------------------ timestamps


def test_timestamps_default_to_now_in_utc() -> None:
    before = utc_now()
    note = Note(id=1, text="a")
    after = utc_now()
    assert before <= note.created_at <= after
    assert before <= note.updated_at <= after
    assert note.created_at.tzinfo is UTC
    assert note.deleted_at is None
    assert note.is_deleted is False


def test_touch_with_and_without_a_moment() -> None:
    note = Note(id=1, text="a", created_at=T0, updated_at=T0)
    note.touch(T0 + timedelta(hours=1))
    assert note.updated_at == T0 + timedelta(hours=1)
    before = utc_now()
    note.touch()
    assert note.updated_at >= before
    assert note.created_at == T0


def test_soft_delete_at_a_moment() -> None:
    note = Note(id=1, text="a", created_at=T0, updated_at=T0)
    moment = T0 + timedelta(days=1)
    note.soft_delete(moment)
    assert note.deleted_at == moment
    assert note.updated_at == moment
    assert note.is_deleted is True


def test_soft_delete_now() -> None:
    note = Note(id=1, text="a", created_at=T0, updated_at=T0)
    before = utc_now()
    note.soft_delete()
    assert note.deleted_at is not None
    assert note.deleted_at >= before
    assert note.updated_at == note.deleted_at


def test_restore_clears_the_deletion_and_touches() -> None:
    note = Note(id=1, text="a", created_at=T0, updated_at=T0)
    note.soft_delete(T0 + timedelta(days=1))
    before = utc_now()
    note.restore()
    assert note.deleted_at is None
    assert note.is_deleted is False
    assert note.updated_at >= before


# ------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("name", "bad"),
    [("id", "not-an-int"), ("text", 123), ("created_at", "yesterday"), ("deleted_at", "soon")],
)
def test_assignment_is_validated(name: str, bad: object) -> None:
    note = Note(id=1, text="a")
    with pytest.raises(ValidationError) as info:
        setattr(note, name, bad)
    assert info.value.errors()[0]["loc"] == (name,)


def test_touch_with_a_non_datetime_is_refused() -> None:
    note = Note(id=1, text="a")
    with pytest.raises(ValidationError):
        note.touch("later")  # type: ignore[arg-type]


def test_assignment_coerces_like_construction() -> None:
    note = Note(id=1, text="a")
    note.id = "7"  # type: ignore[assignment]
    assert note.id == 7


def test_extra_fields_are_forbidden() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Note(id=1, text="a", colour="red")  # type: ignore[call-arg]


def test_id_is_required() -> None:
    with pytest.raises(ValidationError):
        Note(text="a")  # type: ignore[call-arg]


def test_builds_from_attributes() -> None:
    row = SimpleNamespace(id=3, text="from a row", created_at=T0, updated_at=T0, deleted_at=None)
    note = Note.model_validate(row)
    assert (note.id, note.text, note.created_at) == (3, "from a row", T0)


def test_entities_satisfy_the_identifiable_protocol() -> None:
    def identify(entity: Identifiable) -> object:
        return entity.id

    assert identify(Note(id=5, text="x")) == 5


# ----------------------------------------------------------------------------- auditable, versioned


def test_auditable_entity_fields() -> None:
    document = Document(id="doc-1", title="t")
    assert document.created_by is None
    assert document.updated_by is None
    document.updated_by = "user-2"
    assert document.updated_by == "user-2"
    assert Document(id="doc-2", title="t", created_by="user-1").created_by == "user-1"
    with pytest.raises(ValidationError):
        document.created_by = 5  # type: ignore[assignment]


def test_versioned_entity_starts_at_version_one() -> None:
    page = Page(id=1)
    assert page.version == 1
    page.version += 1
    assert page.version == 2


@pytest.mark.parametrize("bad", [0, -1, "one"])
def test_versioned_entity_refuses_bad_versions(bad: object) -> None:
    with pytest.raises(ValidationError):
        Page(id=1, version=bad)
    page = Page(id=1)
    with pytest.raises(ValidationError):
        page.version = bad  # type: ignore[assignment]


# ------------------------------------------------------------------------------------- aggregates


def test_aggregate_root_is_a_versioned_entity() -> None:
    basket = Basket(id=uuid.uuid4())
    assert isinstance(basket, VersionedEntity)
    assert basket.version == 1


def test_aggregate_records_events_in_order() -> None:
    basket = Basket(id=uuid.uuid4())
    assert basket.pending_events == ()
    basket.add("apple")
    basket.add("pear")
    assert [event.item for event in basket.pending_events] == ["apple", "pear"]  # type: ignore[attr-defined]
    assert basket.pending_events == basket.pending_events  # reading does not consume


def test_pull_events_hands_each_event_out_exactly_once() -> None:
    basket = Basket(id=uuid.uuid4())
    basket.add("apple")
    basket.add("pear")
    first = basket.pull_events()
    assert [event.item for event in first] == ["apple", "pear"]  # type: ignore[attr-defined]
    assert basket.pull_events() == []
    assert basket.pending_events == ()
    basket.add("plum")
    assert [event.item for event in basket.pull_events()] == ["plum"]  # type: ignore[attr-defined]
    assert basket.pull_events() == []


def test_pulled_list_is_detached_from_the_aggregate() -> None:
    basket = Basket(id=uuid.uuid4())
    basket.add("apple")
    pulled = basket.pull_events()
    pulled.append(ItemAdded(aggregate_id="x", item="smuggled"))
    basket.add("pear")
    assert [event.item for event in basket.pull_events()] == ["pear"]  # type: ignore[attr-defined]


def test_each_aggregate_has_its_own_events() -> None:
    first, second = Basket(id=uuid.uuid4()), Basket(id=uuid.uuid4())
    first.add("apple")
    assert second.pending_events == ()
    assert len(first.pending_events) == 1


def test_events_are_not_part_of_the_model_data() -> None:
    basket = Basket(id=uuid.uuid4())
    basket.add("apple")
    assert set(basket.model_dump()) == {"id", "created_at", "updated_at", "deleted_at", "version", "items"}


# Regression: model_copy() copies private attributes shallowly and record_event() used to append in place,
# so a copy shared the original's _events list and both handed the same event out.
def test_a_shallow_copy_does_not_share_pending_events() -> None:
    original = Basket(id=uuid.uuid4())
    copy = original.model_copy()
    copy.add("apple")
    assert original.pending_events == ()
    assert original.pull_events() == []
    original.add("pear")
    assert [event.item for event in copy.pull_events()] == ["apple"]  # type: ignore[attr-defined]
    assert [event.item for event in original.pull_events()] == ["pear"]  # type: ignore[attr-defined]
