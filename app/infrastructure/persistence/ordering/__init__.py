"""Ordering on SQL: the orders and order_lines tables, the order repository and the bus factory."""

from __future__ import annotations

from app.infrastructure.persistence.ordering.mapper import OrderMapper
from app.infrastructure.persistence.ordering.repository import ORDER_FIELDS, OrderRepository
from app.infrastructure.persistence.ordering.sales import SqlSalesReader
from app.infrastructure.persistence.ordering.tables import OrderLineRow, OrderRow
from app.infrastructure.persistence.ordering.wiring import (
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
