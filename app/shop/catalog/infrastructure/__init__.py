"""The catalog on SQL: the products table, its mapper and repository, and the service factory."""

from __future__ import annotations

from shop.catalog.infrastructure.mapper import ProductMapper
from shop.catalog.infrastructure.repository import ProductRepository
from shop.catalog.infrastructure.sales_counters import SqlSalesCounters
from shop.catalog.infrastructure.sales_tables import CountedOrderRow, ProductSalesRow
from shop.catalog.infrastructure.tables import ProductRow
from shop.catalog.infrastructure.wiring import build_product_service, product_repository_factory, sales_counters

__all__ = [
    "CountedOrderRow",
    "ProductMapper",
    "ProductRepository",
    "ProductRow",
    "ProductSalesRow",
    "SqlSalesCounters",
    "build_product_service",
    "product_repository_factory",
    "sales_counters",
]
