"""Ordering use cases as CQRS: commands, queries, their handlers, DTOs and the ports they need."""

from __future__ import annotations

from shop.ordering.application.dto import (
    DaySales,
    OrderLineOut,
    OrderLineOutV2,
    OrderLineRequest,
    OrderOut,
    OrderOutV2,
    ProductSales,
    SalesFigures,
    SalesGrouping,
    SalesReportOut,
)
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
    SalesReport,
    ShipOrder,
)
from shop.ordering.application.place_order import PlaceOrderHandler
from shop.ordering.application.ports import (
    SALE_STATUSES,
    OrderingDependencies,
    OrderRepositoryPort,
    ProductKey,
    ProductRepositoryPort,
    SalesBucket,
    SalesReader,
)
from shop.ordering.application.read import DEFAULT_ORDER_SORT, GetOrderHandler, ListOrdersHandler, order_filter
from shop.ordering.application.registration import register_ordering_handlers
from shop.ordering.application.sales import MAX_REPORT_DAYS, SalesReportHandler

__all__ = [
    "DEFAULT_ORDER_SORT",
    "MAX_REPORT_DAYS",
    "SALE_STATUSES",
    "CancelOrder",
    "CancelOrderHandler",
    "DaySales",
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
    "ProductKey",
    "ProductRepositoryPort",
    "ProductSales",
    "ReturnOrder",
    "ReturnOrderHandler",
    "SalesBucket",
    "SalesFigures",
    "SalesGrouping",
    "SalesReader",
    "SalesReport",
    "SalesReportHandler",
    "SalesReportOut",
    "ShipOrder",
    "ShipOrderHandler",
    "UnknownProductError",
    "load_order",
    "order_filter",
    "register_ordering_handlers",
]
