"""The ordering commands and queries: the only way the interface layer reaches the ordering use cases."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.application.pagination import CountStrategy, Page
from shop.catalog.domain.product import CurrencyCode
from shop.ordering.application.dto import OrderLineRequest, OrderOut, SalesGrouping, SalesReportOut
from shop.ordering.domain.order import MAX_REASON_LENGTH, MAX_SHIPPING_ADDRESS_LENGTH, OrderId
from shop.ordering.domain.status import OrderStatus

__all__ = [
    "CancelOrder",
    "GetOrder",
    "ListOrders",
    "OrderCommand",
    "PayOrder",
    "PlaceOrder",
    "ReturnOrder",
    "SalesReport",
    "ShipOrder",
]


class PlaceOrder(BaseCommand[OrderOut]):
    """Order products by id; ``currency`` defaults to that of the first line's product."""

    customer_email: str
    lines: tuple[OrderLineRequest, ...]
    currency: CurrencyCode | None = None
    shipping_address: str | None = Field(default=None, min_length=1, max_length=MAX_SHIPPING_ADDRESS_LENGTH)


class OrderCommand(BaseCommand[OrderOut]):
    """A change to one existing order; ``expected_version`` (from ``If-Match``) guards against lost updates."""

    order_id: OrderId
    expected_version: int | None = Field(default=None, ge=1)

    def log_context(self) -> dict[str, str | None]:
        return {**super().log_context(), "order_id": str(self.order_id)}


class PayOrder(OrderCommand):
    pass


class ShipOrder(OrderCommand):
    pass


class CancelOrder(OrderCommand):
    """Cancel before shipping; the stock of every line is put back in the same transaction."""

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


class ReturnOrder(OrderCommand):
    """Take back a shipped order; the stock of every line is put back in the same transaction."""

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


class GetOrder(BaseQuery[OrderOut]):
    order_id: OrderId


class ListOrders(BaseQuery[Page[OrderOut]]):
    """One offset page of orders, newest first unless ``sort`` (e.g. ``"-total,created_at"``) says otherwise."""

    status: OrderStatus | None = None
    customer_email: str | None = None
    sort: str | None = None
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=50, ge=1, le=500)
    count: CountStrategy = CountStrategy.EXACT


class SalesReport(BaseQuery[SalesReportOut]):
    """Sales paid from ``first_day`` to ``last_day`` (both included, UTC days), one row per ``group_by`` value.

    The result depends on the tenant bound to the request, which the query does not carry: never give it a cache
    TTL as it stands.
    """

    first_day: date
    last_day: date
    group_by: SalesGrouping = SalesGrouping.PRODUCT
