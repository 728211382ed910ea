"""PayOrder, ShipOrder, CancelOrder and ReturnOrder on SQLite: the state machine, stock restoration, version guards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from apibase.application.cqrs import CommandBus, QueryBus
from apibase.application.in_memory import InMemoryEventPublisher
from apibase.core.errors import ConcurrencyConflict, NotFoundError
from apibase.core.result import Err, Ok
from shop.catalog.application import ProductOut, ProductService, ProductUpdate
from shop.catalog.domain import MAX_STOCK, StockLimitExceeded
from shop.ordering.application import (
    CancelOrder,
    GetOrder,
    OrderLineRequest,
    OrderOut,
    PayOrder,
    PlaceOrder,
    ReturnOrder,
    ShipOrder,
)
from shop.ordering.domain import (
    InvalidOrderTransition,
    OrderAlreadyShipped,
    OrderCancelled,
    OrderId,
    OrderNotReturnable,
    OrderNotShippable,
    OrderPaid,
    OrderReturned,
    OrderShipped,
    OrderStatus,
)

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("in_tenant")]

type AddProduct = Callable[..., Awaitable[ProductOut]]


async def place(commands: CommandBus, *items: tuple[ProductOut, int]) -> OrderOut:
    lines = [OrderLineRequest(product_id=product.id, quantity=quantity) for product, quantity in items]
    return (await commands.dispatch(PlaceOrder(customer_email="ada@example.com", lines=tuple(lines)))).unwrap()


async def stock_of(catalog: ProductService, product: ProductOut) -> int:
    return (await catalog.get(product.id)).unwrap().stock


async def test_pay_then_ship(
    commands: CommandBus, queries: QueryBus, add_product: AddProduct, publisher: InMemoryEventPublisher
) -> None:
    order = await place(commands, (await add_product("MUG-001"), 1))
    publisher.published.clear()

    paid = (await commands.dispatch(PayOrder(order_id=order.id))).unwrap()
    shipped = (await commands.dispatch(ShipOrder(order_id=order.id, expected_version=2))).unwrap()

    assert (paid.status, paid.version, paid.paid_at is not None) == (OrderStatus.PAID, 2, True)
    assert (shipped.status, shipped.version, shipped.shipped_at is not None) == (OrderStatus.SHIPPED, 3, True)
    assert shipped.lines == order.lines
    assert [type(event) for event in publisher.published] == [OrderPaid, OrderShipped]
    assert (await queries.ask(GetOrder(order_id=order.id))).unwrap() == shipped


async def test_an_unpaid_order_does_not_ship(commands: CommandBus, add_product: AddProduct) -> None:
    order = await place(commands, (await add_product("MUG-001"), 1))

    result = await commands.dispatch(ShipOrder(order_id=order.id))

    assert isinstance(result, Err)
    assert isinstance(result.error, OrderNotShippable)


async def test_paying_twice_is_refused(commands: CommandBus, add_product: AddProduct) -> None:
    order = await place(commands, (await add_product("MUG-001"), 1))
    (await commands.dispatch(PayOrder(order_id=order.id))).unwrap()

    result = await commands.dispatch(PayOrder(order_id=order.id))

    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidOrderTransition)


@pytest.mark.parametrize("pay_first", [False, True])
async def test_cancel_restores_the_stock(
    commands: CommandBus,
    catalog: ProductService,
    add_product: AddProduct,
    publisher: InMemoryEventPublisher,
    pay_first: bool,
) -> None:
    mug, tea = await add_product("MUG-001", stock=5), await add_product("TEA-002", stock=3)
    order = await place(commands, (mug, 2), (tea, 3))
    if pay_first:
        (await commands.dispatch(PayOrder(order_id=order.id))).unwrap()
    assert (await stock_of(catalog, mug), await stock_of(catalog, tea)) == (3, 0)
    publisher.published.clear()

    cancelled = (await commands.dispatch(CancelOrder(order_id=order.id, reason="changed my mind"))).unwrap()

    assert (cancelled.status, cancelled.cancellation_reason) == (OrderStatus.CANCELLED, "changed my mind")
    assert (await stock_of(catalog, mug), await stock_of(catalog, tea)) == (5, 3)
    assert [type(event) for event in publisher.published] == [OrderCancelled]


async def test_a_shipped_order_cannot_be_cancelled_and_keeps_its_stock(
    commands: CommandBus, catalog: ProductService, add_product: AddProduct
) -> None:
    mug = await add_product("MUG-001", stock=5)
    order = await place(commands, (mug, 2))
    (await commands.dispatch(PayOrder(order_id=order.id))).unwrap()
    (await commands.dispatch(ShipOrder(order_id=order.id))).unwrap()

    result = await commands.dispatch(CancelOrder(order_id=order.id, reason="too late"))

    assert isinstance(result, Err)
    assert isinstance(result.error, OrderAlreadyShipped)
    assert result.error.status == 409
    assert await stock_of(catalog, mug) == 3


async def test_a_returned_order_puts_its_stock_back(
    commands: CommandBus,
    queries: QueryBus,
    catalog: ProductService,
    add_product: AddProduct,
    publisher: InMemoryEventPublisher,
) -> None:
    mug, tea = await add_product("MUG-001", stock=5), await add_product("TEA-002", stock=3)
    order = await place(commands, (mug, 2), (tea, 3))
    (await commands.dispatch(PayOrder(order_id=order.id))).unwrap()
    (await commands.dispatch(ShipOrder(order_id=order.id))).unwrap()
    publisher.published.clear()

    returned = (await commands.dispatch(ReturnOrder(order_id=order.id, reason="broken", expected_version=3))).unwrap()

    assert (returned.status, returned.return_reason, returned.version) == (OrderStatus.RETURNED, "broken", 4)
    assert returned.returned_at is not None
    assert (await stock_of(catalog, mug), await stock_of(catalog, tea)) == (5, 3)
    assert [type(event) for event in publisher.published] == [OrderReturned]
    assert (await queries.ask(GetOrder(order_id=order.id))).unwrap() == returned


@pytest.mark.parametrize("pay_first", [False, True])
async def test_an_order_that_has_not_shipped_cannot_be_returned(
    commands: CommandBus, catalog: ProductService, add_product: AddProduct, pay_first: bool
) -> None:
    mug = await add_product("MUG-001", stock=5)
    order = await place(commands, (mug, 2))
    if pay_first:
        (await commands.dispatch(PayOrder(order_id=order.id))).unwrap()

    result = await commands.dispatch(ReturnOrder(order_id=order.id, reason="never mind"))

    assert isinstance(result, Err)
    assert isinstance(result.error, OrderNotReturnable)
    assert await stock_of(catalog, mug) == 3


async def test_an_order_is_returned_once(
    commands: CommandBus, catalog: ProductService, add_product: AddProduct
) -> None:
    mug = await add_product("MUG-001", stock=5)
    order = await place(commands, (mug, 2))
    for command in (PayOrder(order_id=order.id), ShipOrder(order_id=order.id)):
        (await commands.dispatch(command)).unwrap()
    (await commands.dispatch(ReturnOrder(order_id=order.id, reason="broken"))).unwrap()

    result = await commands.dispatch(ReturnOrder(order_id=order.id, reason="again"))

    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidOrderTransition)
    assert await stock_of(catalog, mug) == 5


async def test_cancel_skips_products_deleted_since_the_sale(
    commands: CommandBus, catalog: ProductService, add_product: AddProduct
) -> None:
    mug, tea = await add_product("MUG-001", stock=5), await add_product("TEA-002", stock=5)
    order = await place(commands, (mug, 1), (tea, 1))
    (await catalog.delete(tea.id)).unwrap()

    result = await commands.dispatch(CancelOrder(order_id=order.id, reason="out of business"))

    assert isinstance(result, Ok)
    assert await stock_of(catalog, mug) == 5


async def test_a_refused_restock_rolls_the_cancellation_back(
    commands: CommandBus, queries: QueryBus, catalog: ProductService, add_product: AddProduct
) -> None:
    mug = await add_product("MUG-001", stock=5)
    order = await place(commands, (mug, 2))
    (await catalog.update(mug.id, ProductUpdate(stock=MAX_STOCK))).unwrap()

    result = await commands.dispatch(CancelOrder(order_id=order.id, reason="oops"))

    assert isinstance(result, Err)
    assert isinstance(result.error, StockLimitExceeded)
    assert (await queries.ask(GetOrder(order_id=order.id))).unwrap().status is OrderStatus.PLACED


async def test_an_unknown_order_is_not_found(commands: CommandBus) -> None:
    result = await commands.dispatch(PayOrder(order_id=OrderId.new()))

    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert result.error.status == 404


async def test_a_stale_expected_version_is_a_conflict(
    commands: CommandBus, queries: QueryBus, add_product: AddProduct
) -> None:
    order = await place(commands, (await add_product("MUG-001"), 1))
    (await commands.dispatch(PayOrder(order_id=order.id, expected_version=1))).unwrap()

    result = await commands.dispatch(CancelOrder(order_id=order.id, reason="stale", expected_version=1))

    assert isinstance(result, Err)
    assert isinstance(result.error, ConcurrencyConflict)
    assert result.error.extensions == {"current_version": 2}
    assert (await queries.ask(GetOrder(order_id=order.id))).unwrap().status is OrderStatus.PAID


async def test_the_total_survives_the_round_trip(commands: CommandBus, add_product: AddProduct) -> None:
    order = await place(commands, (await add_product("MUG-001", "0.10"), 3))

    assert order.total == Decimal("0.30")
    assert (await commands.dispatch(PayOrder(order_id=order.id))).unwrap().total == Decimal("0.30")
