"""Factories the composition root calls to get ordering on SQL: handlers on buses that give each message its unit
of work, plain constructor injection."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cqrs.behaviours import TransactionBehaviour
from apibase.application.cqrs.bus import CommandBus, QueryBus
from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.application.cqrs.pipeline import Behaviour
from apibase.application.cursor import CursorCodec
from apibase.application.ports.events import EventPublisher
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.infrastructure.crypto.field_encryption import FieldEncryptor
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work, sql_unit_of_work_factory
from shop.catalog.infrastructure.wiring import product_repository_factory
from shop.ordering.application.ports import OrderingDependencies
from shop.ordering.application.registration import register_ordering_handlers
from shop.ordering.infrastructure.repository import OrderRepository
from shop.ordering.infrastructure.sales import SqlSalesReader

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
    *, cursor_codec: CursorCodec, encryptor: FieldEncryptor | None = None
) -> OrderingDependencies:
    return OrderingDependencies(
        orders=order_repository_factory(cursor_codec, encryptor=encryptor),
        products=product_repository_factory(cursor_codec),
        sales=sales_reader,
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
    """Buses with every ordering handler registered, each message in a unit of work of its own.

    The given behaviours (tracing, logging) wrap a ``TransactionBehaviour`` on each bus, innermost, so that they
    see the outcome of the commit; ``publisher`` hears a command's events once they are committed.
    """
    units = unit_of_work or sql_unit_of_work_factory(session_factory)
    command_bus = CommandBus([*command_behaviours, TransactionBehaviour(units, publisher)])
    query_bus = QueryBus([*query_behaviours, TransactionBehaviour(units)])
    register_ordering_handlers(
        command_bus, query_bus, ordering_dependencies(cursor_codec=cursor_codec, encryptor=encryptor)
    )
    return command_bus, query_bus
