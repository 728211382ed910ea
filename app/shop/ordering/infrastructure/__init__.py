"""Ordering on SQL: the orders and order_lines tables, the order repository and the bus factory."""

from __future__ import annotations

from shop.ordering.infrastructure.mapper import OrderMapper
from shop.ordering.infrastructure.repository import ORDER_FIELDS, OrderRepository
from shop.ordering.infrastructure.sales import SqlSalesReader
from shop.ordering.infrastructure.tables import OrderLineRow, OrderRow
from shop.ordering.infrastructure.wiring import (
    build_ordering,
    order_repository_factory,
    ordering_dependencies,
    sales_reader,
)

__all__ = [
    "ORDER_FIELDS",
    "OrderLineRow",
    "OrderMapper",
    "OrderRepository",
    "OrderRow",
    "SqlSalesReader",
    "build_ordering",
    "order_repository_factory",
    "ordering_dependencies",
    "sales_reader",
]
