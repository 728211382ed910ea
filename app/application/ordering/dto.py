"""What clients send to order and receive back; totals are computed by the aggregate, never by clients."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from app.domain.catalog.product import ProductId
from app.domain.ordering.order import Order, OrderId
from app.domain.ordering.status import OrderStatus

__all__ = ["OrderLineOut", "OrderLineRequest", "OrderOut"]


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
    #: Plaintext for callers allowed to read the order; only the database holds it encrypted.
    shipping_address: str | None

    @classmethod
    def from_order(cls, order: Order) -> OrderOut:
        """Read by attributes, so the computed ``total`` and ``subtotal`` properties are included."""
        return cls.model_validate(order, from_attributes=True)
