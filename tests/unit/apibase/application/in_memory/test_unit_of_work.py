"""In-memory unit of work edge cases the shared contract does not reach."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryRepository, InMemoryUnitOfWork
from apibase.core.errors import ConflictError, ValidationFailed
from apibase.testing.widgets import Widget, WidgetCreate, WidgetUpdate, new_widget

pytestmark = pytest.mark.unit


def repository() -> InMemoryRepository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID]:
    return InMemoryRepository(Widget, new_widget, cursor_codec=CursorCodec("unit-of-work-secret"))


async def test_a_unit_cannot_be_entered_twice_or_used_when_inactive() -> None:
    uow = InMemoryUnitOfWork(repository())
    with pytest.raises(RuntimeError, match="not active"):
        await uow.commit()
    with pytest.raises(RuntimeError, match="not active"):
        async with uow.nested():
            pass
    async with uow:
        with pytest.raises(RuntimeError, match="already active"):
            await uow.__aenter__()
    async with uow:
        await uow.commit()


async def test_rolled_back_aggregates_hand_out_no_events() -> None:
    widgets = repository()
    uow = InMemoryUnitOfWork(widgets)
    async with uow:
        widget = new_widget(WidgetCreate(name="a", price=Decimal(1)))
        widget.rename("b")
        await widgets.add(widget)
        await uow.rollback()
        assert uow.collect_events() == []


async def test_invalid_update_values_are_validation_errors_and_store_nothing() -> None:
    widgets = repository()
    async with InMemoryUnitOfWork(widgets) as uow:
        created = await widgets.create(WidgetCreate(name="a", price=Decimal(1)))
        bad = WidgetUpdate.model_construct(quantity=-5)
        with pytest.raises(ValidationFailed) as caught:
            await widgets.update(created.id, bad)
        assert caught.value.extensions["errors"] == [
            {
                "loc": ["quantity"],
                "message": "Input should be greater than or equal to 0",
                "type": "greater_than_equal",
            }
        ]
        await uow.commit()
    stored = await widgets.get_by_id(created.id)
    assert stored is not None
    assert stored.quantity == 0


async def test_repositories_without_soft_delete_remove_rows() -> None:
    class HardDeleting(InMemoryRepository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID]):
        soft_delete = False

    widgets = HardDeleting(Widget, new_widget, cursor_codec=CursorCodec("unit-of-work-secret"))
    created = await widgets.create(WidgetCreate(name="a", price=Decimal(1)))
    assert await widgets.delete(created.id)
    assert await widgets.get_by_id(created.id, include_deleted=True) is None


async def test_create_many_refuses_duplicate_ids_atomically() -> None:
    fixed = uuid.uuid4()
    widgets = InMemoryRepository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID](
        Widget,
        lambda data: Widget(id=fixed, **data.model_dump()),
        cursor_codec=CursorCodec("unit-of-work-secret"),
    )
    with pytest.raises(ConflictError, match="already exists"):
        await widgets.create_many([WidgetCreate(name="a", price=Decimal(1))] * 2)
    assert await widgets.count() == 0
