"""Factories the composition root calls to get the catalog on SQL: plain constructor injection."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cursor import CursorCodec
from apibase.application.ports.events import EventPublisher
from apibase.application.ports.outbox import Outbox
from apibase.application.ports.store import Store
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.infrastructure.persistence.read_only import read_only_session_factory
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work, sql_unit_of_work_factory
from shop.catalog.application.dto import ProductOut
from shop.catalog.application.sales_counters import SalesCounters
from shop.catalog.application.service import ProductService
from shop.catalog.infrastructure.mapper import ProductMapper
from shop.catalog.infrastructure.repository import ProductRepository
from shop.catalog.infrastructure.sales_counters import SqlSalesCounters

__all__ = ["build_product_service", "product_repository_factory", "sales_counters"]


def product_repository_factory(cursor_codec: CursorCodec) -> Callable[[UnitOfWork], ProductRepository]:
    """Binds a product repository to each unit of work (services and handlers make one per use case)."""

    def repository(unit_of_work: UnitOfWork) -> ProductRepository:
        return ProductRepository(require_sql_unit_of_work(unit_of_work), cursor_codec=cursor_codec)

    return repository


def sales_counters(unit_of_work: UnitOfWork) -> SalesCounters:
    """Binds the SQL sales counters to each unit of work (the dispatcher's per event, the query bus's per query)."""
    return SqlSalesCounters(require_sql_unit_of_work(unit_of_work))


def build_product_service(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    cursor_codec: CursorCodec,
    publisher: EventPublisher | None = None,
    outbox: Outbox | None = None,
    cache: Store[str, ProductOut] | None = None,
    cache_ttl_seconds: float | None = 60.0,
    unit_of_work: Callable[[], UnitOfWork] | None = None,
    read_unit_of_work: Callable[[], UnitOfWork] | None = None,
) -> ProductService:
    """``unit_of_work`` replaces the plain SQL one, e.g. with one guarded by the database circuit breaker, and
    ``read_unit_of_work`` the one reads use (by default ``unit_of_work``, or read-only SQL units without it)."""
    if unit_of_work is None:
        unit_of_work = sql_unit_of_work_factory(session_factory)
        read_unit_of_work = read_unit_of_work or sql_unit_of_work_factory(read_only_session_factory(session_factory))
    return ProductService(
        unit_of_work=unit_of_work,
        read_unit_of_work=read_unit_of_work,
        repository=product_repository_factory(cursor_codec),
        mapper=ProductMapper(),
        publisher=publisher,
        outbox=outbox,
        cache=cache,
        cache_ttl_seconds=cache_ttl_seconds,
    )
