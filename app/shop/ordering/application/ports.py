"""The storage the ordering use cases need, as the generic repository port and factories per unit of work.

Orders are never built from a DTO or patched field by field: they are created by ``Order.place`` and changed by
their methods, so the order repository's create and update types are ``Never`` (``add`` and ``save`` remain).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Never

from apibase.application.ports.events import EventPublisher
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

    ``unit_of_work`` makes a fresh unit per message, so handlers can serve concurrent requests; the
    repository factories bind a repository to that unit.
    """

    unit_of_work: Callable[[], UnitOfWork]
    orders: Callable[[UnitOfWork], OrderRepositoryPort]
    products: Callable[[UnitOfWork], ProductRepositoryPort]
    publisher: EventPublisher | None = None
