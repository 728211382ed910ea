"""Ordering use cases as CQRS: commands, queries, their handlers, DTOs and the ports they need."""

from __future__ import annotations

from shop.ordering.application.dto import OrderLineOut, OrderLineOutV2, OrderLineRequest, OrderOut, OrderOutV2
from shop.ordering.application.errors import UnknownProductError
from shop.ordering.application.lifecycle import (
    CancelOrderHandler,
    OrderChangeHandler,
    PayOrderHandler,
    ReturnOrderHandler,
    ShipOrderHandler,
)
from shop.ordering.application.lookup import load_order
from shop.ordering.application.messages import (
    CancelOrder,
    GetOrder,
    ListOrders,
    OrderCommand,
    PayOrder,
    PlaceOrder,
    ReturnOrder,
    ShipOrder,
)
from shop.ordering.application.place_order import PlaceOrderHandler
from shop.ordering.application.ports import OrderingDependencies, OrderRepositoryPort, ProductRepositoryPort
from shop.ordering.application.read import DEFAULT_ORDER_SORT, GetOrderHandler, ListOrdersHandler, order_filter
from shop.ordering.application.registration import register_ordering_handlers

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
