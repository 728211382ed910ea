"""Per-product sales counters, kept from the ordering module's events (a read model the catalog owns).

Each order event moves the order through the stages the counters know (placed → shipped → returned, or placed →
cancelled) and, only when the move is one the read model has not made yet, adds the order's lines to the counters
of their products. The inbox already makes a redelivered event a no-op; the stage check makes the handlers safe
on their own too (a replayed or reordered event changes nothing), at the price of one row per order.

Rules: an order the counters never saw placed (placed before they existed, or an event overtaken by a later one)
is recorded at the stage its event names and counted nowhere, so a late ``OrderPlaced`` cannot count a cancelled
order. Lines of products the catalog does not hold in the event's tenant are skipped: no retry can make them known.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from cloudevents.core.base import BaseCloudEvent

from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.application.subscriptions import DropEvent, Subscription
from apibase.core.context import current_tenant
from shop.catalog.application.order_events import (
    ORDER_CANCELLED,
    ORDER_PLACED,
    ORDER_RETURNED,
    ORDER_SHIPPED,
    OrderEvent,
    OrderEventLine,
    parse_order_event,
)
from shop.catalog.domain.product import ProductId

__all__ = [
    "OrderStage",
    "SalesCounterHandlers",
    "SalesCounters",
    "SalesCountersFactory",
    "SalesFigures",
]

_logger = logging.getLogger(__name__)


class OrderStage(StrEnum):
    """Where the read model last saw an order (payment is not tracked: it moves no counter)."""

    PLACED = "placed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    RETURNED = "returned"


@dataclass(frozen=True, slots=True)
class SalesFigures:
    """Counts of one product in one currency: what one line adds (negative revenue: money given back), or the
    totals so far. ``net_revenue`` is what placed orders brought minus what cancellations and returns gave back."""

    product_id: ProductId
    currency: str
    units_ordered: int = 0
    units_cancelled: int = 0
    units_shipped: int = 0
    units_returned: int = 0
    orders: int = 0
    net_revenue: Decimal = Decimal("0.00")


class SalesCounters(Protocol):
    """The read model's storage, in the unit of work of the event being handled and the tenant bound for it."""

    async def known_products(self, product_ids: Collection[ProductId]) -> frozenset[ProductId]:
        """Those of ``product_ids`` the catalog holds (soft-deleted ones too: their sales still count)."""
        ...

    async def move_order(self, order_id: uuid.UUID, to: OrderStage, *, after: Collection[OrderStage]) -> bool:
        """Record the order at ``to``; True when that is a move to count: the order was at one of ``after``
        (``after`` empty: the order was not known yet). An unknown order is recorded at ``to`` either way."""
        ...

    async def add(self, movements: Sequence[SalesFigures]) -> None:
        """Add each movement to its product's counters in its currency, atomically (concurrent events add up)."""
        ...

    async def totals(self, product_id: ProductId) -> Sequence[SalesFigures] | None:
        """The product's counters, one per currency it sold in; ``None`` when it is no live product."""
        ...


type SalesCountersFactory = Callable[[UnitOfWork], SalesCounters]


class SalesCounterHandlers:
    """The subscription handlers: one per order event the counters follow."""

    def __init__(self, counters: SalesCountersFactory) -> None:
        self._counters = counters

    def subscriptions(self) -> list[Subscription]:
        """What the catalog module declares; the names key the inbox, so a renamed one would count events again."""
        return [
            Subscription("catalog.sales-on-order-placed", ORDER_PLACED, self.order_placed),
            Subscription("catalog.sales-on-order-cancelled", ORDER_CANCELLED, self.order_cancelled),
            Subscription("catalog.sales-on-order-shipped", ORDER_SHIPPED, self.order_shipped),
            Subscription("catalog.sales-on-order-returned", ORDER_RETURNED, self.order_returned),
        ]

    async def order_placed(self, event: BaseCloudEvent) -> None:
        await self._count(event, OrderStage.PLACED, after=(), movement=_placed)

    async def order_cancelled(self, event: BaseCloudEvent) -> None:
        await self._count(event, OrderStage.CANCELLED, after=(OrderStage.PLACED,), movement=_cancelled)

    async def order_shipped(self, event: BaseCloudEvent) -> None:
        await self._count(event, OrderStage.SHIPPED, after=(OrderStage.PLACED,), movement=_shipped)

    async def order_returned(self, event: BaseCloudEvent) -> None:
        await self._count(event, OrderStage.RETURNED, after=(OrderStage.SHIPPED,), movement=_returned)

    async def _count(
        self,
        event: BaseCloudEvent,
        stage: OrderStage,
        *,
        after: Collection[OrderStage],
        movement: Callable[[OrderEventLine, str], SalesFigures],
    ) -> None:
        order = parse_order_event(event)
        if current_tenant() is None:  # the counters are per tenant; an event of no tenant has nowhere to count
            raise DropEvent(f"{event.get_type()} {event.get_id()} names no tenant")
        counters = self._counters(current_unit_of_work())
        if not await counters.move_order(order.aggregate_id, stage, after=after):
            return
        await counters.add([movement(line, order.currency) for line in await _known_lines(counters, order)])


async def _known_lines(counters: SalesCounters, order: OrderEvent) -> list[OrderEventLine]:
    known = await counters.known_products({ProductId.parse(line.product_id) for line in order.lines})
    lines = [line for line in order.lines if line.product_id in known]
    if len(lines) < len(order.lines):
        unknown = sorted(str(line.product_id) for line in order.lines if line.product_id not in known)
        _logger.warning("order %s: no product %s in the catalog; not counted", order.aggregate_id, ", ".join(unknown))
    return lines


def _placed(line: OrderEventLine, currency: str) -> SalesFigures:
    product = ProductId.parse(line.product_id)
    return SalesFigures(product, currency, units_ordered=line.quantity, orders=1, net_revenue=line.subtotal)


def _cancelled(line: OrderEventLine, currency: str) -> SalesFigures:
    product = ProductId.parse(line.product_id)
    return SalesFigures(product, currency, units_cancelled=line.quantity, net_revenue=-line.subtotal)


def _shipped(line: OrderEventLine, currency: str) -> SalesFigures:
    return SalesFigures(ProductId.parse(line.product_id), currency, units_shipped=line.quantity)


def _returned(line: OrderEventLine, currency: str) -> SalesFigures:
    product = ProductId.parse(line.product_id)
    return SalesFigures(product, currency, units_returned=line.quantity, net_revenue=-line.subtotal)
