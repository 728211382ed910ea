"""RequestMappedService: request bodies are converted before the inner service sees them; the rest delegates."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from pydantic import BaseModel

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryRepository, InMemoryUnitOfWork
from apibase.application.mapper import GenericMapper
from apibase.application.pagination import SortField
from apibase.application.request_mapped_service import RequestMappedService
from apibase.application.service import GenericService
from apibase.core.errors import NotFoundError
from apibase.core.result import Err, Ok
from apibase.testing.widgets import WIDGET_FIELDS, Widget, WidgetCreate, WidgetUpdate, new_widget

pytestmark = pytest.mark.unit


class WidgetOut(BaseModel):
    id: uuid.UUID
    name: str
    price: Decimal


class Cents(BaseModel):
    """Another version's request shape: the price in cents."""

    name: str
    cents: int


class Widgets(InMemoryRepository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID]):
    filterable_fields = WIDGET_FIELDS
    sortable_fields = WIDGET_FIELDS


type CentsService = RequestMappedService[Widget, Cents, Cents, WidgetCreate, WidgetUpdate, WidgetOut, uuid.UUID]


@pytest.fixture
def in_cents() -> CentsService:
    repository = Widgets(Widget, new_widget, cursor_codec=CursorCodec("request-mapped-service-secret"))
    inner = GenericService[Widget, WidgetCreate, WidgetUpdate, WidgetOut, uuid.UUID](
        unit_of_work=lambda: InMemoryUnitOfWork(repository),
        repository=lambda uow: repository,
        mapper=GenericMapper(entity=Widget, model=Widget, response=WidgetOut),
    )
    return RequestMappedService(
        inner,
        create=lambda body: WidgetCreate(name=body.name, price=Decimal(body.cents) / 100),
        update=lambda body: WidgetUpdate(name=body.name, price=Decimal(body.cents) / 100),
    )


async def test_every_use_case_converts_its_request_and_delegates(in_cents: CentsService) -> None:
    created = (await in_cents.create(Cents(name="gear", cents=250))).unwrap()
    assert (created.name, created.price) == ("gear", Decimal("2.50"))
    await in_cents.create(Cents(name="cog", cents=100))
    page = (await in_cents.list(sort=[SortField("name")])).unwrap()
    assert [item.name for item in page.items] == ["cog", "gear"]
    keyset = (await in_cents.list_by_cursor(sort=[SortField("name")], limit=1)).unwrap()
    assert [item.name for item in keyset.items] == ["cog"]

    updated = await in_cents.update(created.id, Cents(name="big gear", cents=900), expected_version=1)

    assert updated == Ok(WidgetOut(id=created.id, name="big gear", price=Decimal("9.00")))
    assert (await in_cents.get(created.id)) == updated
    assert await in_cents.delete(created.id) == Ok(None)
    missing = await in_cents.get(created.id)
    assert isinstance(missing, Err)
    assert isinstance(missing.error, NotFoundError)
