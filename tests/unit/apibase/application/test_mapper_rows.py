"""GenericMapper reading result rows: through their ``_mapping`` where that validates as attributes would."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlalchemy import create_engine, literal, select

from apibase.application.mapper import GenericMapper
from apibase.domain.entities import BaseEntity

pytestmark = pytest.mark.unit

MOMENT = datetime(2024, 5, 17, 12, 30, tzinfo=UTC)


class Item(BaseEntity[int]):
    """``extra="forbid"`` (from ``BaseEntity``): a column it has no field for must never reach it."""

    name: str
    stock: int = Field(default=0, ge=0)


class ItemOut(BaseModel):
    id: int
    name: str
    stock: int


class SpyRow:
    """A result row as SQLAlchemy gives one: the values as attributes and by name in ``_mapping``; it records
    which attributes were read (``_mapping`` and SQLAlchemy's ``_parent``, which it lacks, aside)."""

    def __init__(self, mapping: Mapping[str, object], attributes: Mapping[str, object] | None = None) -> None:
        self._mapping = dict(mapping)
        self._attributes = dict(mapping if attributes is None else attributes)
        self.read: list[str] = []

    def __getattr__(self, name: str) -> object:
        if name != "_parent":
            self.read.append(name)
        try:
            return self._attributes[name]
        except KeyError:
            raise AttributeError(name) from None


def values(item_id: int, **changes: object) -> dict[str, object]:
    return {
        "id": item_id,
        "name": f"item-{item_id}",
        "stock": item_id,
        "tenant_id": "t1",
        "created_at": MOMENT,
        "updated_at": MOMENT,
        "deleted_at": None,
    } | changes


class ItemMapper(GenericMapper[Item, object, ItemOut]):
    pass


def test_rows_with_a_mapping_are_read_through_it_not_attribute_by_attribute() -> None:
    rows = [SpyRow(values(n)) for n in range(3)]

    items = ItemMapper().to_entities(rows)

    assert [(item.id, item.name, item.stock) for item in items] == [(n, f"item-{n}", n) for n in range(3)]
    assert [row.read for row in rows] == [[], [], []]


def test_to_entity_reads_a_row_the_way_to_entities_does() -> None:
    row = SpyRow(values(7))

    assert ItemMapper().to_entity(row) == ItemMapper().to_entities([row])[0]
    assert row.read == []


def test_sqlalchemy_rows_map_with_their_extra_columns_left_out() -> None:
    stored = {name: value for name, value in values(5).items() if not name.endswith("ed_at")}
    columns = [literal(value).label(name) for name, value in stored.items()]
    with create_engine("sqlite://").connect() as connection:
        rows = connection.execute(select(*columns)).all()

    (item,) = ItemMapper().to_entities(rows)

    assert (item.id, item.name, item.stock) == (5, "item-5", 5)


def test_a_select_of_some_columns_leaves_the_other_fields_to_their_defaults() -> None:
    partial = {"id": 1, "name": "only", "created_at": MOMENT, "updated_at": MOMENT}

    (item,) = ItemMapper().to_entities([SpyRow(partial)])

    assert item.stock == 0


@pytest.mark.parametrize(
    "later",
    [
        pytest.param({"id": 2, "name": "no stock", "created_at": MOMENT, "updated_at": MOMENT}, id="lacks a field"),
        pytest.param({**values(2), "unknown": 1}, id="has another number of keys"),
        pytest.param(
            {**{k: v for k, v in values(2).items() if k != "tenant_id"}, "unknown": 1},
            id="has as many keys, other ones",
        ),
    ],
)
def test_rows_of_another_shape_send_the_list_down_the_attribute_path(later: dict[str, object]) -> None:
    rows = [SpyRow(values(1)), SpyRow(later, attributes=values(2, stock=9))]

    items = ItemMapper().to_entities(rows)

    assert items[1].stock == 9
    assert "stock" in rows[1].read


def test_rows_without_a_mapping_are_read_by_attributes() -> None:
    rows = [SpyRow(values(1)), SpyRow(values(2))]
    del rows[1]._mapping

    assert [item.stock for item in ItemMapper().to_entities(rows)] == [1, 2]
    assert "stock" in rows[0].read


class DoubledStockMapper(ItemMapper):
    entity_transforms: ClassVar[Mapping[str, Callable[[object], object]]] = {
        "stock": lambda row: 2 * getattr(row, "raw_stock", 0),
    }


def test_entity_transforms_see_the_row_and_override_its_mapped_values() -> None:
    row = SpyRow({**values(1), "raw_stock": 4})

    (item,) = DoubledStockMapper().to_entities([row])

    assert item.stock == 8
    assert row.read == ["raw_stock"]


class AliasedItem(Item):
    label: str = Field(validation_alias="title")


class ItemBeforeValidator(Item):
    @model_validator(mode="before")
    @classmethod
    def _sees_the_row(cls, data: object) -> object:
        assert not isinstance(data, dict), "the validator was given a dict, not the row"
        return data


@pytest.mark.parametrize(
    ("entity", "row_values"),
    [
        pytest.param(AliasedItem, {**values(1), "title": "by alias"}, id="aliased field"),
        pytest.param(ItemBeforeValidator, values(1), id="before model validator"),
    ],
)
def test_an_entity_reading_its_source_otherwise_is_given_the_row(
    entity: type[Item], row_values: dict[str, object]
) -> None:
    row = SpyRow(row_values)

    (item,) = GenericMapper(entity=entity, model=object, response=ItemOut).to_entities([row])

    assert item.id == 1
    assert "id" in row.read


def test_a_bad_mapped_row_among_many_raises_the_error_to_entity_raises() -> None:
    good, bad = SpyRow(values(1)), SpyRow(values(2, stock=-1))
    with pytest.raises(ValidationError) as alone:
        ItemMapper().to_entity(bad)

    with pytest.raises(ValidationError) as among:
        ItemMapper().to_entities([good, bad])

    assert among.value.errors() == alone.value.errors()
    assert alone.value.errors()[0]["loc"] == ("stock",)


@given(
    st.lists(
        st.fixed_dictionaries(
            {"id": st.integers(), "name": st.text(), "stock": st.integers(min_value=0)},
            optional={"deleted_at": st.none() | st.just(MOMENT), "tenant_id": st.text()},
        ),
        min_size=1,
        max_size=5,
    )
)
def test_property_mapped_rows_give_what_attribute_rows_give(rows: list[dict[str, object]]) -> None:
    stamped = [{**row, "created_at": MOMENT, "updated_at": MOMENT} for row in rows]
    mapped = [SpyRow(row) for row in stamped]
    plain = [SpyRow(row) for row in stamped]
    for row in plain:
        del row._mapping

    assert [item.model_dump() for item in ItemMapper().to_entities(mapped)] == [
        item.model_dump() for item in ItemMapper().to_entities(plain)
    ]
