"""Ordering on the real PostgreSQL: round trips with lines, and two concurrent updates of one order.

The tables live in a schema of their own (``search_path``), so nothing collides with other tests in the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cqrs import CommandBus, QueryBus, TransactionBehaviour
from apibase.application.cursor import CursorCodec
from apibase.application.pagination import SortField
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import ConcurrencyConflict
from apibase.core.result import Err, Ok
from apibase.infrastructure.persistence.schema import metadata
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work, sql_unit_of_work_factory
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.testing.postgres import scratch_schema
from shop.catalog.application import ProductCreate
from shop.catalog.infrastructure import build_product_service
from shop.ordering.application import (
    CancelOrder,
    OrderingDependencies,
    OrderLineRequest,
    OrderOut,
    PayOrder,
    PlaceOrder,
    register_ordering_handlers,
)
from shop.ordering.application.ports import OrderRepositoryPort
from shop.ordering.domain import Order, OrderId, OrderStatus
from shop.ordering.infrastructure import OrderRepository, build_ordering, ordering_dependencies

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("in_tenant")]

CODEC = CursorCodec("postgres-ordering-cursor-secret")


@pytest.fixture
async def session_factory(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with scratch_schema(postgres_url, metadata, prefix="ordering") as sessions:
        yield sessions


async def place(commands: CommandBus, session_factory: async_sessionmaker[AsyncSession]) -> OrderOut:
    catalog = build_product_service(session_factory, cursor_codec=CODEC)
    mug = (await catalog.create(ProductCreate(sku="MUG-001", name="Mug", price=Decimal("9.90"), stock=5))).unwrap()
    tea = (await catalog.create(ProductCreate(sku="TEA-002", name="Tea", price=Decimal("0.35"), stock=9))).unwrap()
    lines = (OrderLineRequest(product_id=mug.id, quantity=2), OrderLineRequest(product_id=tea.id, quantity=3))
    return (await commands.dispatch(PlaceOrder(customer_email="ada@example.com", lines=lines))).unwrap()


async def test_orders_round_trip_with_their_lines(session_factory: async_sessionmaker[AsyncSession]) -> None:
    commands, _ = build_ordering(session_factory, cursor_codec=CODEC)
    placed = await place(commands, session_factory)

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        repository = OrderRepository(uow, cursor_codec=CODEC)
        loaded = await repository.get_by_id(placed.id)
        page = await repository.get_page(sort=[SortField("total", descending=True)], limit=1)

    assert loaded is not None
    assert loaded.total == placed.total == Decimal("20.85")
    assert [line.sku for line in loaded.lines] == ["MUG-001", "TEA-002"]
    assert [order.id for order in page.items] == [placed.id]


class PausingOrders(OrderRepository):
    """Waits after loading until both requests have loaded, so their writes are sure to race."""

    barrier: asyncio.Barrier

    async def get_by_id(self, entity_id: OrderId, *, include_deleted: bool = False) -> Order | None:
        order = await super().get_by_id(entity_id, include_deleted=include_deleted)
        await self.barrier.wait()
        return order


async def test_concurrent_updates_of_one_order_conflict(session_factory: async_sessionmaker[AsyncSession]) -> None:
    commands, _ = build_ordering(session_factory, cursor_codec=CODEC)
    placed = await place(commands, session_factory)
    PausingOrders.barrier = asyncio.Barrier(2)

    def pausing(unit_of_work: UnitOfWork) -> OrderRepositoryPort:
        return PausingOrders(require_sql_unit_of_work(unit_of_work), cursor_codec=CODEC)

    base = ordering_dependencies(cursor_codec=CODEC)
    units = sql_unit_of_work_factory(session_factory)
    racing_commands, racing_queries = CommandBus([TransactionBehaviour(units)]), QueryBus([TransactionBehaviour(units)])
    register_ordering_handlers(
        racing_commands,
        racing_queries,
        OrderingDependencies(orders=pausing, products=base.products, sales=base.sales),
    )

    paid, cancelled = await asyncio.gather(
        racing_commands.dispatch(PayOrder(order_id=placed.id)),
        racing_commands.dispatch(CancelOrder(order_id=placed.id, reason="changed my mind")),
    )

    outcomes = [paid, cancelled]
    winners = [result for result in outcomes if isinstance(result, Ok)]
    losers = [result for result in outcomes if isinstance(result, Err)]
    assert len(winners) == len(losers) == 1
    assert isinstance(losers[0].error, ConcurrencyConflict)
    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        stored = await OrderRepository(uow, cursor_codec=CODEC).get_by_id(placed.id)
    assert stored is not None
    assert stored.version == 2
    assert stored.status in (OrderStatus.PAID, OrderStatus.CANCELLED)
    assert stored.status is winners[0].value.status
    assert stored.status is winners[0].value.status
