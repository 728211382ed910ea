"""MappedService: every use case delegates and converts Ok values; errors pass through unchanged."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from pydantic import BaseModel

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryRepository, InMemoryUnitOfWork
from apibase.application.mapped_service import MappedService
from apibase.application.mapper import GenericMapper
from apibase.application.pagination import SortField
from apibase.application.service import GenericService
from apibase.core.errors import NotFoundError
from apibase.core.result import Err, Ok
from apibase.testing.widgets import WIDGET_FIELDS, Widget, WidgetCreate, WidgetUpdate, new_widget

pytestmark = pytest.mark.unit


class WidgetOut(BaseModel):
    id: uuid.UUID
    name: str
    price: Decimal


class Label(BaseModel):
    label: str


class Widgets(InMemoryRepository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID]):
    filterable_fields = WIDGET_FIELDS
    sortable_fields = WIDGET_FIELDS


@pytest.fixture
def labels() -> MappedService[Widget, WidgetCreate, WidgetUpdate, WidgetOut, Label, uuid.UUID]:
    repository = Widgets(Widget, new_widget, cursor_codec=CursorCodec("mapped-service-secret"))
    inner = GenericService[Widget, WidgetCreate, WidgetUpdate, WidgetOut, uuid.UUID](
        unit_of_work=lambda: InMemoryUnitOfWork(repository),
        repository=lambda uow: repository,
        mapper=GenericMapper(entity=Widget, model=Widget, response=WidgetOut),
    )
    return MappedService(inner, lambda out: Label(label=f"{out.name} @ {out.price}"))


async def test_every_use_case_converts_its_result(
    labels: MappedService[Widget, WidgetCreate, WidgetUpdate, WidgetOut, Label, uuid.UUID],
) -> None:
    created = await labels.create(WidgetCreate(name="gear", price=Decimal("2.50")))
    assert created == Ok(Label(label="gear @ 2.50"))
    await labels.create(WidgetCreate(name="cog", price=Decimal("1.00")))
    page = (await labels.list(sort=[SortField("name")])).unwrap()
    assert [item.label for item in page.items] == ["cog @ 1.00", "gear @ 2.50"]
    assert (page.total, page.has_next) == (2, False)
    keyset = (await labels.list_by_cursor(sort=[SortField("name")], limit=1)).unwrap()
    assert [item.label for item in keyset.items] == ["cog @ 1.00"]
    assert keyset.next_cursor is not None
    widget_id = next(iter((await labels._inner.list()).unwrap().items)).id  # type: ignore[attr-defined]
    updated = await labels.update(widget_id, WidgetUpdate(price=Decimal("9.00")))
    assert isinstance(updated, Ok)
    assert updated.value.label.endswith("@ 9.00")
    assert (await labels.get(widget_id)).unwrap() == updated.value
    assert await labels.delete(widget_id) == Ok(None)
    missing = await labels.get(widget_id)
    assert isinstance(missing, Err)
    assert isinstance(missing.error, NotFoundError)
