"""Registering the ordering handlers on the buses the composition root built."""

from __future__ import annotations

from app.application.cqrs.bus import CommandBus, QueryBus
from app.application.ordering.lifecycle import (
    CancelOrderHandler,
    PayOrderHandler,
    ReturnOrderHandler,
    ShipOrderHandler,
)
from app.application.ordering.place_order import PlaceOrderHandler
from app.application.ordering.ports import OrderingDependencies
from app.application.ordering.read import GetOrderHandler, ListOrdersHandler
from app.application.ordering.sales import SalesReportHandler

__all__ = ["register_ordering_handlers"]


def register_ordering_handlers(
    command_bus: CommandBus, query_bus: QueryBus, dependencies: OrderingDependencies
) -> None:
    """Every ordering command and query gets its handler; the command bus must not hold a TransactionBehaviour
    (the handlers own their unit of work, see ``app.application.ordering.transaction``)."""
    command_bus.register(PlaceOrderHandler(dependencies))
    command_bus.register(PayOrderHandler(dependencies))
    command_bus.register(ShipOrderHandler(dependencies))
    command_bus.register(CancelOrderHandler(dependencies))
    command_bus.register(ReturnOrderHandler(dependencies))
    query_bus.register(GetOrderHandler(dependencies))
    query_bus.register(ListOrdersHandler(dependencies))
    query_bus.register(SalesReportHandler(dependencies))
