"""Facts the order aggregate records at each step of its life, for billing, fulfilment and notifications."""

from __future__ import annotations

from decimal import Decimal

from apibase.domain.events import DomainEvent
from shop.ordering.domain.status import OrderStatus

__all__ = ["OrderCancelled", "OrderPaid", "OrderPlaced", "OrderReturned", "OrderShipped"]


class OrderPlaced(DomainEvent):
    customer_email: str
    currency: str
    total: Decimal
    line_count: int


class OrderPaid(DomainEvent):
    currency: str
    total: Decimal


class OrderShipped(DomainEvent):
    pass


class OrderCancelled(DomainEvent):
    reason: str
    previous_status: OrderStatus


class OrderReturned(DomainEvent):
    """The customer sent a shipped order back: refund ``total`` in ``currency``; the stock is back."""

    reason: str
    currency: str
    total: Decimal
