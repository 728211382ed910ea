"""What clients send to order and receive back; totals are computed by the aggregate, never by clients."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shop.catalog.application.money import MoneyOut
from shop.catalog.domain.product import ProductId
from shop.ordering.domain.order import Order, OrderId
from shop.ordering.domain.status import OrderStatus

__all__ = [
    "DaySales",
    "OrderLineOut",
    "OrderLineOutV2",
    "OrderLineRequest",
    "OrderOut",
    "OrderOutV2",
    "ProductSales",
    "SalesFigures",
    "SalesGrouping",
    "SalesReportOut",
]


class OrderLineRequest(BaseModel):
    """One requested product; price and sku come from the catalog, so clients cannot choose them.

    The quantity is not constrained here: the aggregate checks it and answers with ``orders.invalid_quantity``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: ProductId
    quantity: int


class OrderLineOut(BaseModel):
    product_id: ProductId
    sku: str
    unit_price: Decimal
    quantity: int
    subtotal: Decimal


class OrderOut(BaseModel):
    id: OrderId
    customer_email: str
    currency: str
    status: OrderStatus
    lines: list[OrderLineOut]
    total: Decimal
    version: int
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    cancelled_at: datetime | None
    cancellation_reason: str | None
    returned_at: datetime | None
    return_reason: str | None
    #: Plaintext for callers allowed to read the order; only the database holds it encrypted.
    shipping_address: str | None

    @classmethod
    def from_order(cls, order: Order) -> OrderOut:
        """Read by attributes, so the computed ``total`` and ``subtotal`` properties are included."""
        return cls.model_validate(order, from_attributes=True)


class OrderLineOutV2(BaseModel):
    product_id: ProductId
    sku: str
    unit_price: MoneyOut
    quantity: int
    subtotal: MoneyOut


class OrderOutV2(BaseModel):
    """The v2 representation: every amount is a money object, as products' prices are in v2."""

    id: OrderId
    customer_email: str
    #: The currency the order was placed in (what ``PlaceOrderRequest.currency`` chose), not an amount.
    currency: str
    status: OrderStatus
    lines: list[OrderLineOutV2]
    total: MoneyOut
    version: int
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    cancelled_at: datetime | None
    cancellation_reason: str | None
    returned_at: datetime | None
    return_reason: str | None
    shipping_address: str | None

    @classmethod
    def from_v1(cls, order: OrderOut) -> OrderOutV2:
        """Derived from v1, so both versions are served by the same handlers and can never disagree."""

        def money(amount: Decimal, currency: str) -> MoneyOut:
            return MoneyOut(amount=amount, currency=currency)

        lines = [
            OrderLineOutV2(
                product_id=line.product_id,
                sku=line.sku,
                unit_price=money(line.unit_price, order.currency),
                quantity=line.quantity,
                subtotal=money(line.subtotal, order.currency),
            )
            for line in order.lines
        ]
        fields = order.model_dump(exclude={"lines", "total"})
        return cls.model_validate({**fields, "lines": lines, "total": money(order.total, order.currency)})


class SalesGrouping(StrEnum):
    PRODUCT = "product"
    DAY = "day"


class SalesFigures(BaseModel):
    units_sold: int
    order_count: int
    #: One amount per currency sold in (never converted), ordered by currency code.
    revenue: list[MoneyOut]


class ProductSales(SalesFigures):
    product_id: ProductId
    #: The catalog's current sku and name (a product deleted since is still named); None only if its row is gone.
    sku: str | None
    name: str | None


class DaySales(SalesFigures):
    #: The UTC day the orders were paid.
    day: date


class SalesReportOut(BaseModel):
    """The sales report; v2 only, so its amounts are money objects from the start."""

    first_day: date
    last_day: date
    group_by: SalesGrouping
    #: The order statuses that count as sales, so a reader of the report need not guess.
    statuses: list[OrderStatus]
    #: Products by units sold (most first), or days in calendar order; groups without sales are left out.
    rows: list[ProductSales] | list[DaySales]
