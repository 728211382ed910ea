"""The repository contract: ONE suite every Repository + UnitOfWork implementation must pass.

Use it by subclassing in a test module and providing a ``harness`` fixture::

    class TestSqliteRepository(RepositoryContract):
        @pytest.fixture
        def harness(self) -> RepositoryHarness: ...

Every test opens its own units of work, so backends with real transactions are exercised for real.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Protocol

import pytest

from apibase.application.pagination import CountStrategy, SortField
from apibase.application.ports.repository import Repository
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import (
    ConcurrencyConflict,
    ConflictError,
    EntityNotFound,
    InvalidCursorError,
    ValidationFailed,
)
from apibase.domain.specification import field
from apibase.testing.widgets import Widget, WidgetCreate, WidgetRenamed, WidgetUpdate, new_widget

__all__ = ["RepositoryContract", "RepositoryHarness", "WidgetRepository"]

type WidgetRepository = Repository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID]


class RepositoryHarness(Protocol):
    """How the contract reaches a backend: a fresh unit of work, and the widget repository bound to it."""

    def unit_of_work(self) -> UnitOfWork: ...

    def repository(self, unit_of_work: UnitOfWork) -> WidgetRepository: ...


def _create(name: str, price: str = "1.00", quantity: int = 1, category: str | None = None) -> WidgetCreate:
    return WidgetCreate(name=name, price=Decimal(price), quantity=quantity, category=category)


class RepositoryContract:
    """The behaviour every repository promises; subclasses only provide the ``harness`` fixture."""

    @asynccontextmanager
    async def unit(self, harness: RepositoryHarness, *, commit: bool = True) -> AsyncIterator[WidgetRepository]:
        async with harness.unit_of_work() as uow:
            yield harness.repository(uow)
            if commit:
                await uow.commit()

    async def seed(self, harness: RepositoryHarness, *items: WidgetCreate) -> list[Widget]:
        async with self.unit(harness) as repo:
            return await repo.create_many(items)

    # -- create and read -------------------------------------------------------------------------------
    async def test_create_then_get_by_id_returns_the_same_fields(self, harness: RepositoryHarness) -> None:
        async with self.unit(harness) as repo:
            created = await repo.create(_create("alpha", "9.99", 3, "tools"))
        async with self.unit(harness) as repo:
            loaded = await repo.get_by_id(created.id)
        assert loaded is not None
        assert loaded.model_dump() == created.model_dump()
        assert loaded.version == 1

    async def test_create_and_update_record_who_did_them(self, harness: RepositoryHarness) -> None:
        async with self.unit(harness) as repo:
            created = await repo.create(_create("alpha"), actor="alice")
        async with self.unit(harness) as repo:
            updated = await repo.update(created.id, WidgetUpdate(name="beta"), actor="bob")
        async with self.unit(harness) as repo:
            reloaded = await repo.get_by_id(created.id)
        assert (created.created_by, created.updated_by) == ("alice", "alice")
        assert reloaded is not None
        assert (updated.created_by, updated.updated_by) == ("alice", "bob")
        assert (reloaded.created_by, reloaded.updated_by) == ("alice", "bob")

    async def test_get_by_id_of_unknown_id_is_none(self, harness: RepositoryHarness) -> None:
        async with self.unit(harness) as repo:
            assert await repo.get_by_id(uuid.uuid4()) is None
            assert not await repo.exists(uuid.uuid4())

    async def test_create_many_stores_all_in_order(self, harness: RepositoryHarness) -> None:
        created = await self.seed(harness, *(_create(f"w{i}") for i in range(5)))
        assert [w.name for w in created] == [f"w{i}" for i in range(5)]
        async with self.unit(harness) as repo:
            assert await repo.count() == 5
            assert all([await repo.exists(w.id) for w in created])

    async def test_add_of_an_existing_id_is_a_conflict(self, harness: RepositoryHarness) -> None:
        (widget,) = await self.seed(harness, _create("one"))
        async with self.unit(harness, commit=False) as repo:
            with pytest.raises(ConflictError):
                await repo.add(widget)

    # -- update and optimistic locking -----------------------------------------------------------------
    async def test_update_changes_only_the_fields_set_and_bumps_the_version(self, harness: RepositoryHarness) -> None:
        (widget,) = await self.seed(harness, _create("before", "5.00", 2, "toys"))
        async with self.unit(harness) as repo:
            updated = await repo.update(widget.id, WidgetUpdate(name="after"), expected_version=1)
        assert (updated.name, updated.price, updated.quantity, updated.category) == (
            "after",
            Decimal("5.00"),
            2,
            "toys",
        )
        assert updated.version == 2
        assert updated.updated_at >= widget.updated_at
        async with self.unit(harness) as repo:
            reloaded = await repo.get_by_id(widget.id)
        assert reloaded is not None
        assert reloaded.name == "after"
        assert reloaded.version == 2

    async def test_update_of_a_missing_entity_raises_not_found(self, harness: RepositoryHarness) -> None:
        async with self.unit(harness, commit=False) as repo:
            with pytest.raises(EntityNotFound):
                await repo.update(uuid.uuid4(), WidgetUpdate(name="x"))

    async def test_stale_update_is_a_conflict_and_changes_nothing(self, harness: RepositoryHarness) -> None:
        (widget,) = await self.seed(harness, _create("v1"))
        async with self.unit(harness) as repo:
            await repo.update(widget.id, WidgetUpdate(name="v2"), expected_version=1)
        async with self.unit(harness) as repo:
            with pytest.raises(ConcurrencyConflict):
                await repo.update(widget.id, WidgetUpdate(name="lost"), expected_version=1)
        async with self.unit(harness) as repo:
            current = await repo.get_by_id(widget.id)
        assert current is not None
        assert (current.name, current.version) == ("v2", 2)

    async def test_save_of_a_stale_aggregate_is_a_conflict(self, harness: RepositoryHarness) -> None:
        (widget,) = await self.seed(harness, _create("base"))
        async with self.unit(harness) as repo:
            first = await repo.get_by_id(widget.id)
            second = await repo.get_by_id(widget.id)
            assert first is not None
            assert second is not None
            first.rename("first")
            saved = await repo.save(first)
            assert saved.version == 2
            second.rename("second")
            with pytest.raises(ConcurrencyConflict):
                await repo.save(second)
        async with self.unit(harness) as repo:
            current = await repo.get_by_id(widget.id)
        assert current is not None
        assert current.name == "first"

    # -- delete ----------------------------------------------------------------------------------------
    async def test_soft_delete_hides_the_row_unless_asked(self, harness: RepositoryHarness) -> None:
        (widget,) = await self.seed(harness, _create("gone"))
        async with self.unit(harness) as repo:
            assert await repo.delete(widget.id)
        async with self.unit(harness) as repo:
            assert await repo.get_by_id(widget.id) is None
            assert not await repo.exists(widget.id)
            assert await repo.count() == 0
            assert await repo.count(include_deleted=True) == 1
            hidden = await repo.get_by_id(widget.id, include_deleted=True)
            assert hidden is not None
            assert hidden.deleted_at is not None
            assert not await repo.delete(widget.id)
            with pytest.raises(EntityNotFound):
                await repo.update(widget.id, WidgetUpdate(name="zombie"))

    async def test_hard_delete_removes_the_row(self, harness: RepositoryHarness) -> None:
        (widget,) = await self.seed(harness, _create("gone"))
        async with self.unit(harness) as repo:
            assert await repo.delete(widget.id, hard=True)
        async with self.unit(harness) as repo:
            assert await repo.get_by_id(widget.id, include_deleted=True) is None
            assert not await repo.delete(uuid.uuid4())

    # -- queries ---------------------------------------------------------------------------------------
    async def test_specifications_filter_rows(self, harness: RepositoryHarness) -> None:
        await self.seed(
            harness,
            _create("apple", "1.00", 5, "fruit"),
            _create("avocado", "3.00", 0, "fruit"),
            _create("bread", "2.50", 9, None),
        )
        in_stock_fruit = field("category").eq("fruit") & field("quantity").gt(0)
        async with self.unit(harness) as repo:
            assert [w.name for w in await repo.find(in_stock_fruit)] == ["apple"]
            assert await repo.count(field("category").is_null()) == 1
            names = {w.name for w in await repo.find(field("name").starts_with("a") | ~field("price").lt(2))}
            assert names == {"apple", "avocado", "bread"}
            assert {w.name for w in await repo.find(field("name").is_in(["bread", "nope"]))} == {"bread"}
            assert {w.name for w in await repo.find(field("name").contains("ocad"))} == {"avocado"}

    async def test_sorting_offset_and_count_strategies(self, harness: RepositoryHarness) -> None:
        await self.seed(
            harness,
            _create("c", "1.00", 1),
            _create("a", "2.00", 1),
            _create("b", "2.00", 2),
            _create("d", "0.50", 3),
        )
        by_price_desc_then_name = (SortField("price", descending=True), SortField("name"))
        async with self.unit(harness) as repo:
            page = await repo.get_all(sort=by_price_desc_then_name, offset=1, limit=2)
            assert [w.name for w in page.items] == ["b", "c"]
            assert (page.total, page.has_next, page.offset, page.limit) == (4, True, 1, 2)
            last = await repo.get_all(sort=by_price_desc_then_name, offset=2, limit=2, count=CountStrategy.NONE)
            assert [w.name for w in last.items] == ["c", "d"]
            assert (last.total, last.has_next) == (None, False)
            estimated = await repo.get_all(limit=10, count=CountStrategy.ESTIMATED)
            assert estimated.total is not None
            assert estimated.total >= 0

    async def test_unknown_sort_or_filter_field_is_a_validation_error(self, harness: RepositoryHarness) -> None:
        async with self.unit(harness, commit=False) as repo:
            with pytest.raises(ValidationFailed):
                await repo.get_all(sort=[SortField("id; DROP TABLE widgets")])
            with pytest.raises(ValidationFailed):
                await repo.find(field("secret").eq("x"))
            with pytest.raises(ValidationFailed):
                await repo.get_all(limit=0)

    # -- keyset pagination -----------------------------------------------------------------------------
    async def walk(self, harness: RepositoryHarness, size: int, sort: tuple[SortField, ...] = ()) -> list[Widget]:
        seen: list[Widget] = []
        cursor: str | None = None
        async with self.unit(harness) as repo:
            while True:
                page = await repo.get_page(sort=sort, cursor=cursor, limit=size)
                seen.extend(page.items)
                if page.next_cursor is None:
                    return seen
                cursor = page.next_cursor

    @pytest.mark.parametrize("size", [1, 2, 3, 7, 50])
    async def test_walking_cursor_pages_returns_every_item_once_in_order(
        self, harness: RepositoryHarness, size: int
    ) -> None:
        created = await self.seed(harness, *(_create(f"w{i % 3}", f"{i % 4}.00", i) for i in range(7)))
        sort = (SortField("price", descending=True), SortField("name"))
        walked = await self.walk(harness, size, sort)
        assert sorted(w.id for w in walked) == sorted(w.id for w in created)
        keys = [(-w.price, w.name) for w in walked]
        assert keys == sorted(keys)

    async def test_cursor_is_stable_under_concurrent_inserts(self, harness: RepositoryHarness) -> None:
        await self.seed(harness, *(_create(f"n{i:02d}", quantity=i) for i in range(10)))
        sort = (SortField("quantity"),)
        async with self.unit(harness) as repo:
            first = await repo.get_page(sort=sort, limit=4)
        await self.seed(harness, _create("early", quantity=0), _create("late", quantity=99))
        async with self.unit(harness) as repo:
            rest = await repo.get_page(sort=sort, cursor=first.next_cursor, limit=100)
        names = [w.name for w in first.items + rest.items]
        assert names[:4] == ["n00", "n01", "n02", "n03"]
        assert names[4:] == [f"n{i:02d}" for i in range(4, 10)] + ["late"]

    async def test_tampered_or_foreign_cursor_is_rejected(self, harness: RepositoryHarness) -> None:
        await self.seed(harness, *(_create(f"w{i}") for i in range(3)))
        async with self.unit(harness, commit=False) as repo:
            page = await repo.get_page(limit=1, sort=(SortField("name"),))
            assert page.next_cursor is not None
            body, signature = page.next_cursor.split(".")
            for bad in (f"{body}x.{signature}", f"{body}.{signature[:-2]}AA", "garbage", "", "é.é"):
                with pytest.raises(InvalidCursorError):
                    await repo.get_page(cursor=bad, limit=1, sort=(SortField("name"),))
            with pytest.raises(InvalidCursorError):
                await repo.get_page(cursor=page.next_cursor, limit=1, sort=(SortField("price"),))

    async def test_a_cursor_alone_continues_its_listing_with_its_sort_and_filter(
        self, harness: RepositoryHarness
    ) -> None:
        await self.seed(harness, *(_create(f"w{i}", f"{i}.00", category="x" if i % 2 else None) for i in range(7)))
        sort = (SortField("price", descending=True),)
        where = field("price").ge(Decimal("2.00")) & field("category").eq("x")
        async with self.unit(harness, commit=False) as repo:
            first = await repo.get_page(sort=sort, where=where, limit=1)
            assert first.next_cursor is not None
            alone = await repo.get_page(cursor=first.next_cursor, limit=5)
            repeated = await repo.get_page(cursor=first.next_cursor, sort=sort, where=where, limit=5)
            for other in ({"sort": (SortField("price"),)}, {"where": field("category").eq("x")}):
                with pytest.raises(InvalidCursorError, match="another"):
                    await repo.get_page(cursor=first.next_cursor, limit=5, **other)
        assert [w.name for w in first.items + alone.items] == ["w5", "w3"]
        assert [w.name for w in repeated.items] == ["w3"]
        assert alone.next_cursor is None

    # -- unit of work ----------------------------------------------------------------------------------
    async def test_nothing_is_kept_without_commit(self, harness: RepositoryHarness) -> None:
        async with self.unit(harness, commit=False) as repo:
            widget = await repo.create(_create("draft"))
        async with self.unit(harness) as repo:
            assert await repo.get_by_id(widget.id) is None

    async def test_an_exception_rolls_back_and_propagates(self, harness: RepositoryHarness) -> None:
        widget_id: uuid.UUID | None = None
        with pytest.raises(RuntimeError, match="boom"):
            async with harness.unit_of_work() as uow:
                widget_id = (await harness.repository(uow).create(_create("doomed"))).id
                raise RuntimeError("boom")
        assert widget_id is not None
        async with self.unit(harness) as repo:
            assert await repo.get_by_id(widget_id) is None

    async def test_explicit_rollback_discards_and_later_commit_keeps(self, harness: RepositoryHarness) -> None:
        async with harness.unit_of_work() as uow:
            repo = harness.repository(uow)
            discarded = await repo.create(_create("discarded"))
            await uow.rollback()
            kept = await harness.repository(uow).create(_create("kept"))
            await uow.commit()
        async with self.unit(harness) as repo:
            assert await repo.get_by_id(discarded.id) is None
            assert await repo.get_by_id(kept.id) is not None

    async def test_nested_unit_rolls_back_only_its_own_writes(self, harness: RepositoryHarness) -> None:
        async with harness.unit_of_work() as uow:
            outer = await harness.repository(uow).create(_create("outer"))
            inner_id: uuid.UUID | None = None
            with pytest.raises(ValueError, match="inner"):
                async with uow.nested() as nested:
                    inner_id = (await harness.repository(nested).create(_create("inner"))).id
                    raise ValueError("inner")
            async with uow.nested() as nested:
                survivor = await harness.repository(nested).create(_create("survivor"))
            await uow.commit()
        assert inner_id is not None
        async with self.unit(harness) as repo:
            assert await repo.get_by_id(outer.id) is not None
            assert await repo.get_by_id(survivor.id) is not None
            assert await repo.get_by_id(inner_id) is None

    async def test_events_of_touched_aggregates_are_collected_once(self, harness: RepositoryHarness) -> None:
        async with harness.unit_of_work() as uow:
            repo = harness.repository(uow)
            widget = new_widget(_create("old"))
            widget.rename("new")
            await repo.add(widget)
            await uow.commit()
            events = uow.collect_events()
            assert [type(e) for e in events] == [WidgetRenamed]
            assert uow.collect_events() == []

    async def test_concurrent_units_do_not_lose_writes(self, harness: RepositoryHarness) -> None:
        async def create(name: str) -> None:
            async with self.unit(harness) as repo:
                await repo.create(_create(name))

        await asyncio.gather(*(create(f"c{i}") for i in range(5)))
        async with self.unit(harness) as repo:
            assert await repo.count() == 5
