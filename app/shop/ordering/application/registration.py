"""Registering the ordering handlers on the buses the composition root built."""

from __future__ import annotations

from apibase.application.cqrs.bus import CommandBus, QueryBus
from shop.ordering.application.lifecycle import (
    CancelOrderHandler,
    PayOrderHandler,
    ReturnOrderHandler,
    ShipOrderHandler,
)
from shop.ordering.application.place_order import PlaceOrderHandler
from shop.ordering.application.ports import OrderingDependencies
from shop.ordering.application.read import GetOrderHandler, ListOrdersHandler
from shop.ordering.application.sales import SalesReportHandler

__all__ = ["register_ordering_handlers"]


def register_ordering_handlers(
    command_bus: CommandBus, query_bus: QueryBus, dependencies: OrderingDependencies
) -> None:
    """Every ordering command and query gets its handler; both buses must run a ``TransactionBehaviour``, which
    opens the unit of work each handler works in."""
    command_bus.register(PlaceOrderHandler(dependencies))
    command_bus.register(PayOrderHandler(dependencies))
    command_bus.register(ShipOrderHandler(dependencies))
    command_bus.register(CancelOrderHandler(dependencies))
    command_bus.register(ReturnOrderHandler(dependencies))
    query_bus.register(GetOrderHandler(dependencies))
    query_bus.register(ListOrdersHandler(dependencies))
    query_bus.register(SalesReportHandler(dependencies))
