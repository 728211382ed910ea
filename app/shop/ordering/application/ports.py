"""The storage the ordering use cases need, as the generic repository port and factories per unit of work.

Orders are never built from a DTO or patched field by field: they are created by ``Order.place`` and changed by
their methods, so the order repository's create and update types are ``Never`` (``add`` and ``save`` remain).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Never

from apibase.application.ports.repository import Repository
from apibase.application.ports.unit_of_work import UnitOfWork
from shop.catalog.application.dto import ProductCreate, ProductUpdate
from shop.catalog.domain.product import Product, ProductId
from shop.ordering.domain.order import Order, OrderId

__all__ = ["OrderRepositoryPort", "OrderingDependencies", "ProductRepositoryPort"]

type OrderRepositoryPort = Repository[Order, Never, Never, OrderId]
type ProductRepositoryPort = Repository[Product, ProductCreate, ProductUpdate, ProductId]


@dataclass(frozen=True, slots=True)
class OrderingDependencies:
    """What every ordering handler is built from: plain constructor injection, wired by the composition root.

    The factories bind a repository to the unit of work the bus's ``TransactionBehaviour`` opened for the message
    being handled (``current_unit_of_work()``), so handlers serve concurrent requests without sharing one.
    """

    orders: Callable[[UnitOfWork], OrderRepositoryPort]
    products: Callable[[UnitOfWork], ProductRepositoryPort]
