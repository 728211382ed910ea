"""Ordering use cases as CQRS: commands, queries, their handlers, DTOs and the ports they need."""

from __future__ import annotations

from app.application.ordering.dto import (
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
    SalesReport,
    ShipOrder,
)
from app.application.ordering.place_order import PlaceOrderHandler
from app.application.ordering.ports import (
    SALE_STATUSES,
    OrderingDependencies,
    OrderRepositoryPort,
    ProductKey,
    ProductRepositoryPort,
    SalesBucket,
    SalesReader,
)
from app.application.ordering.read import DEFAULT_ORDER_SORT, GetOrderHandler, ListOrdersHandler, order_filter
from app.application.ordering.registration import register_ordering_handlers
from app.application.ordering.sales import MAX_REPORT_DAYS, SalesReportHandler
from app.application.ordering.transaction import run_command, run_query

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
    "run_command",
    "run_query",
]
