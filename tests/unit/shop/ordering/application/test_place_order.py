"""PlaceOrder on SQLite: lines priced from the catalog, stock taken in the same transaction, clear refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from enum import StrEnum

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cqrs import CommandBus, QueryBus
from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryEventPublisher
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import AppError, ConcurrencyConflict
from apibase.core.result import Err, Ok
from apibase.infrastructure.persistence.sql_unit_of_work import sql_unit_of_work_factory
from shop.catalog.application import ProductOut, ProductService, ProductUpdate
from shop.catalog.domain import (
    CatalogErrorCode,
    InsufficientStock,
    ProductId,
    ProductInactive,
    ProductOutOfStock,
)
from shop.ordering.application import (
    ListOrders,
    OrderLineRequest,
    OrderOut,
    PlaceOrder,
    UnknownProductError,
)
from shop.ordering.domain import (
    MAX_ORDER_LINES,
    CurrencyMismatch,
    DuplicateOrderLine,
    EmptyOrder,
    InvalidCustomerEmail,
    InvalidOrderQuantity,
    OrderErrorCode,
    OrderPlaced,
    OrderStatus,
    TooManyOrderLines,
)
from shop.ordering.infrastructure import build_ordering

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("in_tenant")]

type AddProduct = Callable[..., Awaitable[ProductOut]]


def order_of(*items: tuple[ProductOut | ProductId, int], email: str = "ada@example.com", **extra: object) -> PlaceOrder:
    lines = [
        OrderLineRequest(product_id=item.id if isinstance(item, ProductOut) else item, quantity=quantity)
        for item, quantity in items
    ]
    return PlaceOrder.model_validate({"customer_email": email, "lines": lines, **extra})


async def stock_of(catalog: ProductService, product: ProductOut) -> int:
    return (await catalog.get(product.id)).unwrap().stock


async def refused(commands: CommandBus, command: PlaceOrder) -> AppError[StrEnum]:
    result = await commands.dispatch(command)
    assert isinstance(result, Err), result
    return result.error


async def test_placing_an_order_prices_it_and_takes_the_stock(
    commands: CommandBus, catalog: ProductService, add_product: AddProduct, publisher: InMemoryEventPublisher
) -> None:
    mug = await add_product("MUG-001", "4.50", stock=10)
    tea = await add_product("TEA-002", "3.25", stock=5)

    result = await commands.dispatch(order_of((mug, 2), (tea, 1), email="Ada@Example.com"))

    assert isinstance(result, Ok)
    order = result.value
    assert isinstance(order, OrderOut)
    assert (order.status, order.currency, order.customer_email, order.version) == (
        OrderStatus.PLACED,
        "EUR",
        "ada@example.com",
        1,
    )
    assert [(line.sku, line.unit_price, line.quantity, line.subtotal) for line in order.lines] == [
        ("MUG-001", Decimal("4.50"), 2, Decimal("9.00")),
        ("TEA-002", Decimal("3.25"), 1, Decimal("3.25")),
    ]
    assert order.total == Decimal("12.25")
    assert (await stock_of(catalog, mug), await stock_of(catalog, tea)) == (8, 4)
    assert [type(event) for event in publisher.published] == [OrderPlaced]


async def test_the_price_is_the_one_at_the_moment_of_sale(
    commands: CommandBus, queries: QueryBus, catalog: ProductService, add_product: AddProduct
) -> None:
    mug = await add_product("MUG-001", "4.50")
    placed = (await commands.dispatch(order_of((mug, 1)))).unwrap()

    (await catalog.update(mug.id, ProductUpdate(price=Decimal("99.00")))).unwrap()

    listed = (await queries.ask(ListOrders())).unwrap()
    assert listed.items[0].lines[0].unit_price == Decimal("4.50")
    assert listed.items[0].total == placed.total


async def test_selling_the_last_unit_publishes_out_of_stock(
    commands: CommandBus, add_product: AddProduct, publisher: InMemoryEventPublisher
) -> None:
    mug = await add_product("MUG-001", stock=2)

    (await commands.dispatch(order_of((mug, 2)))).unwrap()

    assert sorted(type(event).__name__ for event in publisher.published) == ["OrderPlaced", "ProductOutOfStock"]
    assert any(isinstance(event, ProductOutOfStock) for event in publisher.published)


async def test_the_currency_is_the_products_unless_given(commands: CommandBus, add_product: AddProduct) -> None:
    mug = await add_product("MUG-001", currency="USD")

    assert (await commands.dispatch(order_of((mug, 1)))).unwrap().currency == "USD"
    assert (await commands.dispatch(order_of((mug, 1), currency="USD"))).unwrap().currency == "USD"


async def test_unknown_products_are_listed(
    commands: CommandBus, catalog: ProductService, add_product: AddProduct
) -> None:
    mug = await add_product("MUG-001")
    ghost = ProductId.new()

    error = await refused(commands, order_of((mug, 1), (ghost, 1)))

    assert isinstance(error, UnknownProductError)
    assert (error.status, error.code) == (409, OrderErrorCode.UNKNOWN_PRODUCT)
    assert error.extensions == {"product_ids": [str(ghost)]}
    assert await stock_of(catalog, mug) == 10


async def test_a_deleted_product_is_unknown(
    commands: CommandBus, catalog: ProductService, add_product: AddProduct
) -> None:
    mug = await add_product("MUG-001")
    (await catalog.delete(mug.id)).unwrap()

    assert isinstance(await refused(commands, order_of((mug, 1))), UnknownProductError)


async def test_an_inactive_product_is_refused_and_nothing_is_kept(
    commands: CommandBus, queries: QueryBus, catalog: ProductService, add_product: AddProduct
) -> None:
    mug = await add_product("MUG-001")
    old = await add_product("OLD-999", active=False)

    error = await refused(commands, order_of((mug, 1), (old, 1)))

    assert isinstance(error, ProductInactive)
    assert (error.status, error.code) == (409, CatalogErrorCode.PRODUCT_INACTIVE)
    assert await stock_of(catalog, mug) == 10
    assert (await queries.ask(ListOrders())).unwrap().total == 0


async def test_insufficient_stock_is_refused_and_rolled_back(
    commands: CommandBus,
    queries: QueryBus,
    catalog: ProductService,
    add_product: AddProduct,
    publisher: InMemoryEventPublisher,
) -> None:
    mug = await add_product("MUG-001", stock=5)
    tea = await add_product("TEA-002", stock=1)

    error = await refused(commands, order_of((mug, 5), (tea, 2)))

    assert isinstance(error, InsufficientStock)
    assert error.extensions == {"sku": "TEA-002", "available": 1, "requested": 2}
    assert (await stock_of(catalog, mug), await stock_of(catalog, tea)) == (5, 1)
    assert (await queries.ask(ListOrders())).unwrap().total == 0
    assert publisher.published == []


@pytest.mark.parametrize(
    ("quantities", "error_type"),
    [
        ((0,), InvalidOrderQuantity),
        ((2, -1), InvalidOrderQuantity),
        ((1001,), InvalidOrderQuantity),
        ((), EmptyOrder),
    ],
)
async def test_malformed_orders_are_refused(
    commands: CommandBus, add_product: AddProduct, quantities: tuple[int, ...], error_type: type[AppError[StrEnum]]
) -> None:
    products = [await add_product(f"SKU-{index:03d}") for index in range(len(quantities))]

    error = await refused(commands, order_of(*zip(products, quantities, strict=True)))

    assert isinstance(error, error_type)
    assert error.status == 422


async def test_too_many_lines_are_refused_before_any_lookup(commands: CommandBus) -> None:
    ids = [(ProductId.new(), 1) for _ in range(MAX_ORDER_LINES + 1)]

    assert isinstance(await refused(commands, order_of(*ids)), TooManyOrderLines)


async def test_a_product_on_two_lines_is_refused(commands: CommandBus, add_product: AddProduct) -> None:
    mug = await add_product("MUG-001")

    assert isinstance(await refused(commands, order_of((mug, 1), (mug, 2))), DuplicateOrderLine)


async def test_mixed_currencies_are_refused(commands: CommandBus, add_product: AddProduct) -> None:
    mug = await add_product("MUG-001", currency="EUR")
    tea = await add_product("TEA-002", currency="USD")

    assert isinstance(await refused(commands, order_of((mug, 1), (tea, 1))), CurrencyMismatch)
    assert isinstance(await refused(commands, order_of((mug, 1), currency="GBP")), CurrencyMismatch)


async def test_an_invalid_email_is_refused(commands: CommandBus, add_product: AddProduct) -> None:
    mug = await add_product("MUG-001")

    assert isinstance(await refused(commands, order_of((mug, 1), email="not-an-email")), InvalidCustomerEmail)


async def test_concurrent_orders_each_work_in_a_unit_of_work_of_their_own(
    session_factory: async_sessionmaker[AsyncSession],
    codec: CursorCodec,
    catalog: ProductService,
    add_product: AddProduct,
) -> None:
    """The handlers are shared; the bus opens one unit per message, so concurrent requests never share one: each
    commits or rolls back alone (SQLite lets one of two racing writers win, the other gets a 409 to retry)."""
    opened: list[UnitOfWork] = []
    units = sql_unit_of_work_factory(session_factory)

    def unit_of_work() -> UnitOfWork:
        opened.append(units())
        return opened[-1]

    commands, queries = build_ordering(session_factory, cursor_codec=codec, unit_of_work=unit_of_work)
    products = [await add_product(f"SKU-00{number}", stock=5) for number in range(4)]

    placed = await asyncio.gather(*(commands.dispatch(order_of((product, 1))) for product in products))

    assert len({id(unit) for unit in opened}) == len(opened) == 4
    assert all(isinstance(result, Ok) or isinstance(result.error, ConcurrencyConflict) for result in placed)
    won = [isinstance(result, Ok) for result in placed]
    assert any(won)
    assert [await stock_of(catalog, product) for product in products] == [4 if ok else 5 for ok in won]
    assert (await queries.ask(ListOrders())).unwrap().total == sum(won)
    assert len(opened) == 5, "a query gets a unit of its own too"
