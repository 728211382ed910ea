"""Ordering use cases as CQRS: commands, queries, their handlers, DTOs and the ports they need."""

from __future__ import annotations

from app.application.ordering.dto import OrderLineOut, OrderLineOutV2, OrderLineRequest, OrderOut, OrderOutV2
from app.application.ordering.errors import UnknownProductError
from app.application.ordering.lifecycle import (
    CancelOrderHandler,
    OrderChangeHandler,
    PayOrderHandler,
    ReturnOrderHandler,
    ShipOrderHandler,
)
from app.application.ordering.lookup import load_order
from app.application.ordering.messages import (
    CancelOrder,
    GetOrder,
    ListOrders,
    OrderCommand,
    PayOrder,
    PlaceOrder,
    ReturnOrder,
    ShipOrder,
)
from app.application.ordering.place_order import PlaceOrderHandler
from app.application.ordering.ports import OrderingDependencies, OrderRepositoryPort, ProductRepositoryPort
from app.application.ordering.read import DEFAULT_ORDER_SORT, GetOrderHandler, ListOrdersHandler, order_filter
from app.application.ordering.registration import register_ordering_handlers

__all__ = [
    "DEFAULT_ORDER_SORT",
    "CancelOrder",
    "CancelOrderHandler",
    "GetOrder",
    "GetOrderHandler",
    "ListOrders",
    "ListOrdersHandler",
    "OrderChangeHandler",
    "OrderCommand",
    "OrderLineOut",
    "OrderLineOutV2",
    "OrderLineRequest",
    "OrderOut",
    "OrderOutV2",
    "OrderRepositoryPort",
    "OrderingDependencies",
    "PayOrder",
    "PayOrderHandler",
    "PlaceOrder",
    "PlaceOrderHandler",
    "ProductRepositoryPort",
    "ReturnOrder",
    "ReturnOrderHandler",
    "ShipOrder",
    "ShipOrderHandler",
    "UnknownProductError",
    "load_order",
    "order_filter",
    "register_ordering_handlers",
]
