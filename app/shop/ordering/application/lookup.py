"""Loading one order for a use case: absent is a 404, a stale ``expected_version`` a 409, before any work."""

from __future__ import annotations

from apibase.core.errors import ConcurrencyConflict, NotFoundError
from shop.ordering.application.ports import OrderRepositoryPort
from shop.ordering.domain.order import Order, OrderId

__all__ = ["load_order"]


async def load_order(orders: OrderRepositoryPort, order_id: OrderId, expected_version: int | None = None) -> Order:
    order = await orders.get_by_id(order_id)
    if order is None:
        raise NotFoundError(f"order {order_id} does not exist")
    if expected_version is not None and order.version != expected_version:
        raise ConcurrencyConflict(
            f"order {order_id} is at version {order.version}, not {expected_version}; reload and retry",
            extensions={"current_version": order.version},
        )
    return order
