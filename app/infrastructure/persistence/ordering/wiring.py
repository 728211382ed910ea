"""Factories the composition root calls to get ordering on SQL: handlers on buses, plain constructor injection."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.application.cqrs.bus import CommandBus, QueryBus
from app.application.cqrs.messages import BaseCommand, BaseQuery
from app.application.cqrs.pipeline import Behaviour
from app.application.cursor import CursorCodec
from app.application.ordering.ports import OrderingDependencies
from app.application.ordering.registration import register_ordering_handlers
from app.application.ports.events import EventPublisher
from app.application.ports.unit_of_work import UnitOfWork
from app.infrastructure.crypto.field_encryption import FieldEncryptor
from app.infrastructure.persistence.catalog.wiring import product_repository_factory
from app.infrastructure.persistence.ordering.repository import OrderRepository
from app.infrastructure.persistence.ordering.sales import SqlSalesReader
from app.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work, sql_unit_of_work_factory

__all__ = ["build_ordering", "order_repository_factory", "ordering_dependencies", "sales_reader"]


def order_repository_factory(
    cursor_codec: CursorCodec, *, encryptor: FieldEncryptor | None = None
) -> Callable[[UnitOfWork], OrderRepository]:
    """``encryptor`` protects the shipping address; None means the development key (never in production)."""

    def repository(unit_of_work: UnitOfWork) -> OrderRepository:
        return OrderRepository(require_sql_unit_of_work(unit_of_work), cursor_codec=cursor_codec, encryptor=encryptor)

    return repository


def sales_reader(unit_of_work: UnitOfWork) -> SqlSalesReader:
    return SqlSalesReader(require_sql_unit_of_work(unit_of_work))


def ordering_dependencies(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    cursor_codec: CursorCodec,
    publisher: EventPublisher | None = None,
    unit_of_work: Callable[[], UnitOfWork] | None = None,
    encryptor: FieldEncryptor | None = None,
) -> OrderingDependencies:
    return OrderingDependencies(
        unit_of_work=unit_of_work or sql_unit_of_work_factory(session_factory),
        orders=order_repository_factory(cursor_codec, encryptor=encryptor),
        products=product_repository_factory(cursor_codec),
        sales=sales_reader,
        publisher=publisher,
    )


def build_ordering(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    cursor_codec: CursorCodec,
    publisher: EventPublisher | None = None,
    command_behaviours: Iterable[Behaviour[BaseCommand[object]]] = (),
    query_behaviours: Iterable[Behaviour[BaseQuery[object]]] = (),
    unit_of_work: Callable[[], UnitOfWork] | None = None,
    encryptor: FieldEncryptor | None = None,
) -> tuple[CommandBus, QueryBus]:
    """Buses with every ordering handler registered.

    Pass logging, validation or caching behaviours, but no ``TransactionBehaviour``: each command handler
    commits its own unit of work before returning its ``Result``.
    """
    command_bus, query_bus = CommandBus(command_behaviours), QueryBus(query_behaviours)
    register_ordering_handlers(
        command_bus,
        query_bus,
        ordering_dependencies(
            session_factory,
            cursor_codec=cursor_codec,
            publisher=publisher,
            unit_of_work=unit_of_work,
            encryptor=encryptor,
        ),
    )
    return command_bus, query_bus
