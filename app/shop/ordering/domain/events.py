"""Facts the order aggregate records at each step of its life, for billing, fulfilment and notifications.

They leave the service through the outbox (``OrderingModule`` lists them in ``published_events``), so their JSON
is a published language: other modules and services parse it with models of their own. Each fact carries what a
consumer needs without calling back (event-carried state): the order's currency, total and, since schema version
2, its lines (product, sku, quantity, unit price, subtotal). Fields are only ever added; a change of shape bumps
``schema_version``, which travels as the CloudEvent's ``schemaversion``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from apibase.domain.events import DomainEvent
from shop.ordering.domain.line import OrderLine
from shop.ordering.domain.status import OrderStatus

__all__ = [
    "OrderCancelled",
    "OrderPaid",
    "OrderPlaced",
    "OrderReturned",
    "OrderShipped",
    "SoldLine",
    "sold_lines",
]


class SoldLine(BaseModel):
    """One line of the order as the events tell it: what was bought, how many, at which price."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: uuid.UUID
    sku: str
    quantity: int = Field(gt=0)
    unit_price: Decimal
    subtotal: Decimal


def sold_lines(lines: Iterable[OrderLine]) -> tuple[SoldLine, ...]:
    """The order's lines as its events carry them."""
    return tuple(
        SoldLine(
            product_id=line.product_id,
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            subtotal=line.subtotal,
        )
        for line in lines
    )


class OrderPlaced(DomainEvent):
    """Version 2 added ``lines``."""

    schema_version = 2

    customer_email: str
    currency: str
    total: Decimal
    line_count: int
    lines: tuple[SoldLine, ...]


class OrderPaid(DomainEvent):
    currency: str
    total: Decimal


class OrderShipped(DomainEvent):
    """Version 2 added ``currency``, ``total`` and ``lines`` (version 1 carried the order id only)."""

    schema_version = 2

    currency: str
    total: Decimal
    lines: tuple[SoldLine, ...]


class OrderCancelled(DomainEvent):
    """Version 2 added ``currency``, ``total`` and ``lines``: what goes back to stock and what is refunded."""

    schema_version = 2

    reason: str
    previous_status: OrderStatus
    currency: str
    total: Decimal
    lines: tuple[SoldLine, ...]


class OrderReturned(DomainEvent):
    """The customer sent a shipped order back: refund ``total`` in ``currency``; the stock is back.

    Version 2 added ``lines``.
    """

    schema_version = 2

    reason: str
    currency: str
    total: Decimal
    lines: tuple[SoldLine, ...]
