"""The sales-counter contract: what the catalog's order-event handlers promise, on any database.

Subclass ``SalesCountersContract`` in a test module and provide a ``session_factory`` fixture over a database with
the service's tables. Events are the ordering module's own domain events, wrapped as the outbox wraps them
(``to_cloud_event``), so the contract also proves that the catalog's models read what ordering publishes. Each
event is handled as the dispatcher handles it: in a unit of work bound for the handler, in the event's tenant,
found through the catalog's subscriptions by its type; but without an inbox, to show the handlers are safe alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cqrs.unit_of_work import bind_unit_of_work
from apibase.application.cursor import CursorCodec
from apibase.application.subscriptions import DropEvent
from apibase.infrastructure.messaging.cloud_events import tenant_of, to_cloud_event
from apibase.infrastructure.persistence.tenancy import tenant_scope
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.catalog.application import ProductCreate
from shop.catalog.application.product_sales import GetProductSales, GetProductSalesHandler, ProductSalesOut
from shop.catalog.application.sales_counters import SalesCounterHandlers
from shop.catalog.domain import Product, ProductId
from shop.catalog.infrastructure import ProductRepository, ProductSalesRow, sales_counters
from shop.ordering.domain import Order, OrderLine

__all__ = ["SalesCountersContract"]

Sessions = async_sessionmaker[AsyncSession]
CODEC = CursorCodec("sales-counters-cursor-secret")
HANDLERS = SalesCounterHandlers(sales_counters)
SUBSCRIPTIONS = {subscription.event_type: subscription for subscription in HANDLERS.subscriptions()}


async def _product(sessions: Sessions, sku: str, price: str, *, currency: str = "EUR", tenant: str = "acme") -> Product:
    with tenant_scope(tenant):
        async with SQLAlchemyUnitOfWork(sessions) as uow:
            data = ProductCreate(sku=sku, name=sku.title(), price=Decimal(price), currency=currency, stock=100)
            product = await ProductRepository(uow, cursor_codec=CODEC).create(data)
            await uow.commit()
    return product


def _order(*lines: tuple[Product, int]) -> Order:
    order_lines = [
        OrderLine.of(
            product_id=product.id,
            sku=product.sku,
            unit_price=product.price,
            currency=product.currency,
            quantity=quantity,
        )
        for product, quantity in lines
    ]
    return Order.place(customer_email="ada@example.com", currency=lines[0][0].currency, lines=order_lines)


def _cloud_events(order: Order, *, tenant: str = "acme") -> list[CloudEvent]:
    """The order's events so far, as the outbox stores them (the tenant rides along as ``tenantid``)."""
    with tenant_scope(tenant):
        return [to_cloud_event(event, source="/shop") for event in order.pull_events()]


async def _deliver(sessions: Sessions, event: BaseCloudEvent) -> None:
    subscription = SUBSCRIPTIONS.get(event.get_type())
    if subscription is None:  # OrderPaid: the catalog does not subscribe, as the dispatcher would find
        return
    tenant = tenant_of(event)
    assert tenant is not None
    with tenant_scope(tenant):
        async with SQLAlchemyUnitOfWork(sessions) as uow:
            with bind_unit_of_work(uow):
                await subscription.handler(event)
            await uow.commit()


async def _deliver_all(sessions: Sessions, events: Sequence[BaseCloudEvent]) -> None:
    for event in events:
        await _deliver(sessions, event)


async def _sales(sessions: Sessions, product: Product, *, tenant: str = "acme") -> ProductSalesOut:
    with tenant_scope(tenant):
        async with SQLAlchemyUnitOfWork(sessions) as uow:
            with bind_unit_of_work(uow):
                result = await GetProductSalesHandler(sales_counters).handle(GetProductSales(product_id=product.id))
    return result.unwrap()


def _counts(sales: ProductSalesOut) -> tuple[int, int, int, int, int, int]:
    """(ordered, cancelled, shipped, returned, net, orders)."""
    return (
        sales.units_ordered,
        sales.units_cancelled,
        sales.units_shipped,
        sales.units_returned,
        sales.units_net,
        sales.order_count,
    )


def _revenue(sales: ProductSalesOut) -> list[tuple[Decimal, str]]:
    return [(money.amount, money.currency) for money in sales.net_revenue]


def _malformed(data: object, *, version: object = 2, event_type: str = "apibase.OrderPlaced") -> CloudEvent:
    attributes: dict[str, object] = {
        "id": "poison-1",
        "source": "/shop",
        "type": event_type,
        "schemaversion": version,
        "tenantid": "acme",
    }
    return CloudEvent(attributes, data)  # type: ignore[arg-type]


class SalesCountersContract:
    async def test_a_placed_order_counts_its_units_orders_and_revenue(self, session_factory: Sessions) -> None:
        mug, tea = await _product(session_factory, "MUG-1", "9.90"), await _product(session_factory, "TEA-1", "2.50")
        await _deliver_all(session_factory, _cloud_events(_order((mug, 2), (tea, 4))))
        await _deliver_all(session_factory, _cloud_events(_order((mug, 1))))

        mug_sales, tea_sales = await _sales(session_factory, mug), await _sales(session_factory, tea)

        assert _counts(mug_sales) == (3, 0, 0, 0, 3, 2)
        assert _revenue(mug_sales) == [(Decimal("29.70"), "EUR")]
        assert _counts(tea_sales) == (4, 0, 0, 0, 4, 1)
        assert _revenue(tea_sales) == [(Decimal("10.00"), "EUR")]

    async def test_a_product_without_sales_has_zero_counters(self, session_factory: Sessions) -> None:
        mug = await _product(session_factory, "MUG-1", "9.90")

        sales = await _sales(session_factory, mug)

        assert (sales.product_id, _counts(sales), sales.net_revenue) == (mug.id, (0, 0, 0, 0, 0, 0), [])

    async def test_a_redelivered_event_counts_once_even_without_the_inbox(self, session_factory: Sessions) -> None:
        mug = await _product(session_factory, "MUG-1", "9.90")
        order = _order((mug, 2))
        [placed] = _cloud_events(order)
        order.cancel("changed my mind")
        [cancelled] = _cloud_events(order)

        await _deliver_all(session_factory, [placed, placed, cancelled, placed, cancelled])

        sales = await _sales(session_factory, mug)
        assert _counts(sales) == (2, 2, 0, 0, 0, 1)
        assert _revenue(sales) == [(Decimal("0.00"), "EUR")]

    async def test_cancel_after_place_gives_the_units_and_revenue_back(self, session_factory: Sessions) -> None:
        mug = await _product(session_factory, "MUG-1", "9.90")
        kept, cancelled = _order((mug, 1)), _order((mug, 3))
        cancelled.pay()
        cancelled.cancel("paid, then cancelled: refunded")
        await _deliver_all(session_factory, [*_cloud_events(kept), *_cloud_events(cancelled)])

        sales = await _sales(session_factory, mug)

        assert _counts(sales) == (4, 3, 0, 0, 1, 2)
        assert _revenue(sales) == [(Decimal("9.90"), "EUR")]

    async def test_shipping_and_returning_are_counted(self, session_factory: Sessions) -> None:
        mug = await _product(session_factory, "MUG-1", "9.90")
        shipped, returned = _order((mug, 2)), _order((mug, 5))
        for order in (shipped, returned):
            order.pay()
            order.ship()
        returned.accept_return("arrived broken")
        await _deliver_all(session_factory, [*_cloud_events(shipped), *_cloud_events(returned)])

        sales = await _sales(session_factory, mug)

        assert _counts(sales) == (7, 0, 7, 5, 2, 2)
        assert _revenue(sales) == [(Decimal("19.80"), "EUR")]

    async def test_an_order_first_seen_cancelled_is_never_counted(self, session_factory: Sessions) -> None:
        mug = await _product(session_factory, "MUG-1", "9.90")
        order = _order((mug, 2))
        [placed] = _cloud_events(order)
        order.cancel("overtaken")
        [cancelled] = _cloud_events(order)

        await _deliver_all(session_factory, [cancelled, placed])

        assert _counts(await _sales(session_factory, mug)) == (0, 0, 0, 0, 0, 0)

    async def test_lines_of_unknown_products_are_skipped(self, session_factory: Sessions) -> None:
        mug = await _product(session_factory, "MUG-1", "9.90")
        ghost = Product(id=ProductId.new(), sku="GHOST-1", name="Ghost", price=Decimal("5.00"), stock=1)
        their = await _product(session_factory, "THEIRS-1", "1.00", tenant="globex")  # another tenant's product

        await _deliver_all(session_factory, _cloud_events(_order((mug, 1), (ghost, 3), (their, 2))))

        assert _counts(await _sales(session_factory, mug)) == (1, 0, 0, 0, 1, 1)
        assert _counts(await _sales(session_factory, their, tenant="globex")) == (0, 0, 0, 0, 0, 0)
        async with session_factory() as session:
            rows = await session.scalar(select(func.count()).select_from(ProductSalesRow))
        assert rows == 1

    async def test_each_tenant_counts_its_own_orders(self, session_factory: Sessions) -> None:
        ours = await _product(session_factory, "MUG-1", "9.90")
        theirs = await _product(session_factory, "MUG-1", "3.00", tenant="globex")
        await _deliver_all(session_factory, _cloud_events(_order((ours, 1))))
        await _deliver_all(session_factory, _cloud_events(_order((theirs, 4)), tenant="globex"))

        assert _counts(await _sales(session_factory, ours)) == (1, 0, 0, 0, 1, 1)
        assert _counts(await _sales(session_factory, theirs, tenant="globex")) == (4, 0, 0, 0, 4, 1)
        with pytest.raises(Exception, match="does not exist"):
            await _sales(session_factory, theirs)  # another tenant's product reads as missing

    async def test_revenue_is_kept_per_currency(self, session_factory: Sessions) -> None:
        mug = await _product(session_factory, "MUG-1", "9.90")
        await _deliver_all(session_factory, _cloud_events(_order((mug, 1))))
        with tenant_scope("acme"):
            async with SQLAlchemyUnitOfWork(session_factory) as uow:
                repriced = await ProductRepository(uow, cursor_codec=CODEC).get_by_id(mug.id)
                assert repriced is not None
                repriced.change_price(Decimal("12.00"), "USD")
                await ProductRepository(uow, cursor_codec=CODEC).save(repriced)
                await uow.commit()
        await _deliver_all(session_factory, _cloud_events(_order((repriced, 2))))

        sales = await _sales(session_factory, mug)

        assert _counts(sales) == (3, 0, 0, 0, 3, 2)
        assert _revenue(sales) == [(Decimal("9.90"), "EUR"), (Decimal("24.00"), "USD")]

    async def test_a_deleted_or_unknown_product_has_no_sales_to_show(self, session_factory: Sessions) -> None:
        mug = await _product(session_factory, "MUG-1", "9.90")
        with tenant_scope("acme"):
            async with SQLAlchemyUnitOfWork(session_factory) as uow:
                assert await ProductRepository(uow, cursor_codec=CODEC).delete(mug.id)
                await uow.commit()
                with bind_unit_of_work(uow):
                    handler = GetProductSalesHandler(sales_counters)
                    for product_id in (mug.id, ProductId.new()):
                        error = (await handler.handle(GetProductSales(product_id=product_id))).unwrap_err()
                        assert error.status == 404

    async def test_an_event_that_can_never_be_counted_is_dropped(self, session_factory: Sessions) -> None:
        for event_type in SUBSCRIPTIONS:
            for name, (data, version) in _POISON.items():
                with pytest.raises(DropEvent):
                    await _deliver(session_factory, _malformed(data, version=version, event_type=event_type))
                    pytest.fail(f"{name} {event_type} was not dropped")

    async def test_an_event_of_no_tenant_is_dropped(self, session_factory: Sessions) -> None:
        mug = await _product(session_factory, "MUG-1", "9.90")
        [placed] = _cloud_events(_order((mug, 1)))
        async with SQLAlchemyUnitOfWork(session_factory) as uow:
            with bind_unit_of_work(uow), pytest.raises(DropEvent, match="names no tenant"):
                await SUBSCRIPTIONS["apibase.OrderPlaced"].handler(placed)


_LINE = {"product_id": str(ProductId.new()), "quantity": 1, "subtotal": "1.00"}
_ORDER = {"aggregate_id": str(ProductId.new()), "currency": "EUR"}
#: Payloads no retry could ever count, each with the ``schemaversion`` it arrives with.
_POISON: dict[str, tuple[object, object]] = {
    "garbage": ({"aggregate_id": "not-a-uuid", "currency": "EUR", "lines": [_LINE]}, 2),
    "no lines": ({**_ORDER, "lines": []}, 2),
    "zero quantity": ({**_ORDER, "lines": [{**_LINE, "quantity": 0}]}, 2),
    "no currency": ({"aggregate_id": _ORDER["aggregate_id"], "lines": [_LINE]}, 2),
    "no data": (None, 2),
    "not JSON (binary mode)": (b"{not json", "2"),
    "schema version 1 (no lines yet)": ({**_ORDER, "total": "1.00", "lines": [_LINE]}, 1),
}
