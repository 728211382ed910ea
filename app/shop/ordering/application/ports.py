"""The storage the ordering use cases need, as the generic repository port and factories per unit of work.

Orders are never built from a DTO or patched field by field: they are created by ``Order.place`` and changed by
their methods, so the order repository's create and update types are ``Never`` (``add`` and ``save`` remain).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Never, Protocol

from apibase.application.ports.repository import Repository
from apibase.application.ports.unit_of_work import UnitOfWork
from shop.catalog.application.dto import ProductCreate, ProductUpdate
from shop.catalog.domain.product import Product, ProductId
from shop.ordering.application.messages import SalesReport
from shop.ordering.domain.order import Order, OrderId
from shop.ordering.domain.status import OrderStatus

__all__ = [
    "SALE_STATUSES",
    "OrderRepositoryPort",
    "OrderingDependencies",
    "ProductKey",
    "ProductRepositoryPort",
    "SalesBucket",
    "SalesReader",
]

type OrderRepositoryPort = Repository[Order, Never, Never, OrderId]
type ProductRepositoryPort = Repository[Product, ProductCreate, ProductUpdate, ProductId]

#: The orders that are sales: money taken and kept. ``placed`` is not a sale yet; ``cancelled`` and ``returned``
#: orders gave their money back, so they never count, whenever they were paid.
SALE_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED)


@dataclass(frozen=True, slots=True)
class ProductKey:
    product_id: ProductId
    sku: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class SalesBucket:
    """What storage sums for one group (a product or a UTC day) in one currency."""

    key: ProductKey | date
    currency: str
    units: int
    orders: int
    revenue: Decimal


class SalesReader(Protocol):
    async def sales(self, report: SalesReport) -> Sequence[SalesBucket]:
        """The bound tenant's orders in ``SALE_STATUSES`` paid within the report's days, per group and currency."""
        ...


@dataclass(frozen=True, slots=True)
class OrderingDependencies:
    """What every ordering handler is built from: plain constructor injection, wired by the composition root.

    The factories bind a repository to the unit of work the bus's ``TransactionBehaviour`` opened for the message
    being handled (``current_unit_of_work()``), so handlers serve concurrent requests without sharing one.
    """

    orders: Callable[[UnitOfWork], OrderRepositoryPort]
    products: Callable[[UnitOfWork], ProductRepositoryPort]
    sales: Callable[[UnitOfWork], SalesReader]
