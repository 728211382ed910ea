"""Paying, shipping, cancelling and returning: load the order, let the aggregate decide, save it under its version."""

from __future__ import annotations

from abc import abstractmethod

from apibase.application.cqrs.handlers import CommandHandler
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import AnyAppError
from apibase.core.result import Ok, Result
from apibase.domain.specification import field
from shop.ordering.application.dto import OrderOut
from shop.ordering.application.lookup import load_order
from shop.ordering.application.messages import CancelOrder, OrderCommand, PayOrder, ReturnOrder, ShipOrder
from shop.ordering.application.ports import OrderingDependencies
from shop.ordering.domain.order import Order

__all__ = [
    "CancelOrderHandler",
    "OrderChangeHandler",
    "PayOrderHandler",
    "ReturnOrderHandler",
    "ShipOrderHandler",
]


class OrderChangeHandler[C: OrderCommand](CommandHandler[C, OrderOut]):
    """The shared flow; the save is guarded by the version the order was loaded at (optimistic locking)."""

    def __init__(self, dependencies: OrderingDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: C) -> Result[OrderOut, AnyAppError]:
        unit = current_unit_of_work()
        orders = self._dependencies.orders(unit)
        order = await load_order(orders, command.order_id, command.expected_version)
        await self.apply(unit, order, command)
        await orders.save(order)
        return Ok(OrderOut.from_order(order))

    async def restock(self, uow: UnitOfWork, order: Order) -> None:
        """Put every line's quantity back in stock; products deleted since the sale have no stock to restore."""
        products = self._dependencies.products(uow)
        sold = await products.find(field("id").is_in([line.product_id for line in order.lines]))
        found = {product.id: product for product in sold}
        for line in order.lines:
            if line.product_id in found:
                found[line.product_id].restock(line.quantity)
        for product_id in sorted(found, key=str):  # the lock order PlaceOrderHandler uses
            await products.save(found[product_id])

    @abstractmethod
    async def apply(self, uow: UnitOfWork, order: Order, command: C) -> None:
        """Change the order (and anything else in the same unit of work); raise a ``DomainError`` to refuse."""


class PayOrderHandler(OrderChangeHandler[PayOrder]):
    async def apply(self, uow: UnitOfWork, order: Order, command: PayOrder) -> None:
        order.pay()


class ShipOrderHandler(OrderChangeHandler[ShipOrder]):
    async def apply(self, uow: UnitOfWork, order: Order, command: ShipOrder) -> None:
        order.ship()


class CancelOrderHandler(OrderChangeHandler[CancelOrder]):
    async def apply(self, uow: UnitOfWork, order: Order, command: CancelOrder) -> None:
        order.cancel(command.reason)
        await self.restock(uow, order)


class ReturnOrderHandler(OrderChangeHandler[ReturnOrder]):
    """The goods are back, so they are for sale again: the same restock as a cancellation."""

    async def apply(self, uow: UnitOfWork, order: Order, command: ReturnOrder) -> None:
        order.accept_return(command.reason)
        await self.restock(uow, order)
