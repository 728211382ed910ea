"""OrderRepository on SQLite: orders travel with their lines, reads cost one extra query, writes are version-guarded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryUnitOfWork
from apibase.application.pagination import CountStrategy, SortField
from apibase.core.errors import ConcurrencyConflict, EntityNotFound
from apibase.domain.specification import field
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.catalog.domain import ProductId
from shop.ordering.domain import Order, OrderLine, OrderPaid, OrderPlaced, OrderStatus
from shop.ordering.infrastructure import (
    OrderLineRow,
    OrderMapper,
    OrderRepository,
    order_repository_factory,
)

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("in_tenant")]


def make_order(*prices: str, email: str = "ada@example.com") -> Order:
    lines = [
        OrderLine.of(
            product_id=ProductId.new(),
            sku=f"SKU-{index:03d}",
            unit_price=Decimal(price),
            currency="EUR",
            quantity=index,
        )
        for index, price in enumerate(prices or ("1.00",), start=1)
    ]
    return Order.place(customer_email=email, currency="EUR", lines=lines)


async def store(session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, *orders: Order) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = OrderRepository(uow, cursor_codec=codec)
        for order in orders:
            await repository.add(order)
        await uow.commit()


@contextmanager
def count_selects(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SELECT the engine sends, as the driver sees it."""
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_an_order_comes_back_with_its_lines_in_order(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    order = make_order("2.50", "0.99", "100.00")
    await store(session_factory, codec, order)

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        loaded = await OrderRepository(uow, cursor_codec=codec).get_by_id(order.id)

    assert loaded is not None
    assert loaded.model_dump() == order.model_dump()
    assert loaded.lines == order.lines
    assert loaded.total == order.total == Decimal("304.48")
    assert isinstance(loaded.lines[0].product_id, ProductId)


async def test_a_missing_order_is_none(session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        assert await OrderRepository(uow, cursor_codec=codec).get_by_id(make_order().id) is None


async def test_reads_load_all_lines_with_one_extra_query(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    orders = [make_order("1.00", "2.00", "3.00", email=f"c{index}@example.com") for index in range(12)]
    await store(session_factory, codec, *orders)

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = OrderRepository(uow, cursor_codec=codec)
        with count_selects(engine) as by_id:
            await repository.get_by_id(orders[0].id)
        with count_selects(engine) as last_page:
            everything = await repository.get_all(limit=50)
        with count_selects(engine) as first_page:
            page = await repository.get_all(limit=5, count=CountStrategy.NONE)
        with count_selects(engine) as keyset:
            cursor_page = await repository.get_page(limit=5, sort=[SortField("total", descending=True)])
        with count_selects(engine) as found:
            matching = await repository.find(field("customer_email").starts_with("c1"))

    assert len(everything.items) == 12
    assert all(len(order.lines) == 3 for order in everything.items)
    assert (len(page.items), len(cursor_page.items), len(matching)) == (5, 5, 3)
    assert [len(statements) for statements in (by_id, last_page, first_page, keyset, found)] == [2, 2, 2, 2, 2]
    assert all(" IN " in statements[1] for statements in (by_id, last_page, first_page, keyset, found))


async def test_an_empty_read_needs_no_lines_query(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        with count_selects(engine) as statements:
            assert await OrderRepository(uow, cursor_codec=codec).find(field("status").eq("paid")) == []

    assert len(statements) == 1


async def test_keyset_pages_by_total(session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec) -> None:
    orders = [make_order(f"{index}.25") for index in range(1, 8)]
    await store(session_factory, codec, *orders)

    totals: list[Decimal] = []
    cursor = None
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = OrderRepository(uow, cursor_codec=codec)
        while True:
            page = await repository.get_page(sort=[SortField("total", descending=True)], cursor=cursor, limit=3)
            totals += [order.total for order in page.items]
            if (cursor := page.next_cursor) is None:
                break

    assert totals == sorted((order.total for order in orders), reverse=True)


async def test_filter_and_sort_on_stored_columns(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    cheap, dear = make_order("1.00"), make_order("50.00", email="bob@example.com")
    dear.pay()
    await store(session_factory, codec, cheap, dear)

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = OrderRepository(uow, cursor_codec=codec)
        paid = await repository.find(field("status").eq(OrderStatus.PAID.value))
        over_ten = await repository.count(field("total").gt(Decimal(10)))
        by_total = await repository.get_all(sort=[SortField("total")])

    assert [order.id for order in paid] == [dear.id]
    assert over_ten == 1
    assert [order.id for order in by_total.items] == [cheap.id, dear.id]


async def test_save_writes_the_order_and_replaces_its_lines(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    order = make_order("1.00", "2.00")
    await store(session_factory, codec, order)
    order.pull_events()

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = OrderRepository(uow, cursor_codec=codec)
        loaded = await repository.get_by_id(order.id)
        assert loaded is not None
        loaded.pay()
        changed = loaded.model_copy(update={"lines": loaded.lines[:1]})
        await repository.save(changed)
        await uow.commit()
        events = uow.collect_events()

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        reloaded = await OrderRepository(uow, cursor_codec=codec).get_by_id(order.id)
        line_rows = (await uow.session.execute(select(func.count()).select_from(OrderLineRow))).scalar_one()

    assert reloaded is not None
    assert (reloaded.status, reloaded.version, len(reloaded.lines), line_rows) == (OrderStatus.PAID, 2, 1, 1)
    assert reloaded.total == Decimal("1.00")
    assert [type(item) for item in events] == [OrderPaid]


async def test_add_tracks_the_order_for_its_events(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    order = make_order()
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        await OrderRepository(uow, cursor_codec=codec).add(order)
        await uow.commit()
        assert [type(item) for item in uow.collect_events()] == [OrderPlaced]


async def test_a_stale_write_is_refused_and_changes_nothing(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    """Two requests load version 1; the first to write wins, the second gets a conflict, not a lost update."""
    order = make_order("1.00", "2.00")
    await store(session_factory, codec, order)
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        first = await OrderRepository(uow, cursor_codec=codec).get_by_id(order.id)
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        second = await OrderRepository(uow, cursor_codec=codec).get_by_id(order.id)
    assert first is not None
    assert second is not None

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        first.pay()
        await OrderRepository(uow, cursor_codec=codec).save(first)
        await uow.commit()
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        second.cancel("changed my mind")
        with pytest.raises(ConcurrencyConflict) as conflict:
            await OrderRepository(uow, cursor_codec=codec).save(second)

    assert conflict.value.extensions == {"current_version": 2}
    assert second.version == 1
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        stored = await OrderRepository(uow, cursor_codec=codec).get_by_id(order.id)
    assert stored is not None
    assert (stored.status, stored.version, len(stored.lines)) == (OrderStatus.PAID, 2, 2)


async def test_saving_a_missing_order_is_not_found(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        with pytest.raises(EntityNotFound):
            await OrderRepository(uow, cursor_codec=codec).save(make_order())


async def test_deletes(session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec) -> None:
    soft, hard = make_order(), make_order("1.00", "2.00")
    await store(session_factory, codec, soft, hard)

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = OrderRepository(uow, cursor_codec=codec)
        assert await repository.delete(soft.id)
        assert await repository.delete(hard.id, hard=True)
        await uow.commit()

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = OrderRepository(uow, cursor_codec=codec)
        assert await repository.get_by_id(soft.id) is None
        kept = await repository.get_by_id(soft.id, include_deleted=True)
        lines_left = (await uow.session.execute(select(OrderLineRow.order_id))).scalars().all()

    assert kept is not None
    assert len(kept.lines) == 1
    assert set(lines_left) == {soft.id}  # the hard delete cascaded to the order's lines


def test_the_factory_needs_a_sql_unit_of_work(codec: CursorCodec) -> None:
    with pytest.raises(TypeError, match="SQLAlchemyUnitOfWork"):
        order_repository_factory(codec)(InMemoryUnitOfWork())


def test_the_mapper_stores_the_total_and_the_status_value() -> None:
    order = make_order("2.00", "3.00")

    row = OrderMapper().to_model(order)

    assert (row.total, row.status) == (Decimal("8.00"), "placed")
    assert [line["position"] for line in OrderMapper.line_rows(order)] == [1, 2]
