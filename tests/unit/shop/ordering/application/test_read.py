"""GetOrder and ListOrders on SQLite: filters, sorting, pagination, and refusals as Err."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from apibase.application.cqrs import CommandBus, QueryBus
from apibase.application.pagination import CountStrategy
from apibase.core.errors import NotFoundError, ValidationFailed
from apibase.core.result import Err
from shop.catalog.application import ProductOut
from shop.ordering.application import (
    DEFAULT_ORDER_SORT,
    GetOrder,
    ListOrders,
    OrderLineRequest,
    OrderOut,
    PayOrder,
    PlaceOrder,
    order_filter,
)
from shop.ordering.domain import OrderId, OrderStatus

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("in_tenant")]

type AddProduct = Callable[..., Awaitable[ProductOut]]


@pytest.fixture
async def orders(commands: CommandBus, add_product: AddProduct) -> list[OrderOut]:
    """Four orders, oldest first: totals 1, 2, 3, 4 EUR; Ada placed the first two; the second is paid."""
    mug = await add_product("MUG-001", "1.00", stock=100)
    placed = []
    for quantity, email in enumerate(["ada@example.com", "ADA@example.com", "bob@example.com", "cy@example.com"], 1):
        command = PlaceOrder(customer_email=email, lines=(OrderLineRequest(product_id=mug.id, quantity=quantity),))
        placed.append((await commands.dispatch(command)).unwrap())
    placed[1] = (await commands.dispatch(PayOrder(order_id=placed[1].id))).unwrap()
    return placed


async def test_get_order(queries: QueryBus, orders: list[OrderOut]) -> None:
    assert (await queries.ask(GetOrder(order_id=orders[0].id))).unwrap() == orders[0]


async def test_get_an_unknown_order(queries: QueryBus) -> None:
    result = await queries.ask(GetOrder(order_id=OrderId.new()))

    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)


async def test_newest_first_by_default(queries: QueryBus, orders: list[OrderOut]) -> None:
    page = (await queries.ask(ListOrders())).unwrap()

    assert [order.id for order in page.items] == [order.id for order in reversed(orders)]
    assert (page.total, page.offset, page.limit, page.has_next) == (4, 0, 50, False)
    assert DEFAULT_ORDER_SORT[0].descending


async def test_filter_by_status_and_customer(queries: QueryBus, orders: list[OrderOut]) -> None:
    by_customer = (await queries.ask(ListOrders(customer_email=" Ada@Example.com "))).unwrap()
    paid_by_ada = (await queries.ask(ListOrders(customer_email="ada@example.com", status=OrderStatus.PAID))).unwrap()
    placed = (await queries.ask(ListOrders(status=OrderStatus.PLACED))).unwrap()

    assert {order.id for order in by_customer.items} == {orders[0].id, orders[1].id}
    assert [order.id for order in paid_by_ada.items] == [orders[1].id]
    assert placed.total == 3


async def test_the_customer_filter_matches_the_stored_form(
    commands: CommandBus, queries: QueryBus, add_product: AddProduct
) -> None:
    mug = await add_product("MUG-001", "1.00", stock=10)
    line = (OrderLineRequest(product_id=mug.id, quantity=1),)
    placed = (await commands.dispatch(PlaceOrder(customer_email="Ada@BÜCHER.de", lines=line))).unwrap()

    for spelling in ["ada@xn--bcher-kva.de", " ADA@bücher.de"]:
        found = (await queries.ask(ListOrders(customer_email=spelling))).unwrap()
        assert [order.id for order in found.items] == [placed.id], spelling
    assert (await queries.ask(ListOrders(customer_email="not an email"))).unwrap().items == []


async def test_sort_by_total(queries: QueryBus, orders: list[OrderOut]) -> None:
    page = (await queries.ask(ListOrders(sort="-total"))).unwrap()

    assert [order.total for order in page.items] == [Decimal("4.00"), Decimal(3), Decimal(2), Decimal(1)]


async def test_offset_pages(queries: QueryBus, orders: list[OrderOut]) -> None:
    first = (await queries.ask(ListOrders(sort="created_at", limit=3))).unwrap()
    second = (await queries.ask(ListOrders(sort="created_at", offset=3, limit=3, count=CountStrategy.NONE))).unwrap()

    assert [order.id for order in first.items + second.items] == [order.id for order in orders]
    assert (first.total, first.has_next, second.total, second.has_next) == (4, True, None, False)


async def test_an_unknown_sort_field_is_an_err(queries: QueryBus, orders: list[OrderOut]) -> None:
    result = await queries.ask(ListOrders(sort="customer_password"))

    assert isinstance(result, Err)
    assert isinstance(result.error, ValidationFailed)


def test_order_filter_without_filters_is_none() -> None:
    assert order_filter(ListOrders()) is None
    assert order_filter(ListOrders(status=OrderStatus.SHIPPED)) is not None
