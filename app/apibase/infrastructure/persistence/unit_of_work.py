"""The SQLAlchemy unit of work: one session and transaction per use case, SAVEPOINTs for nested units.

A read unit (one over ``read_only_session_factory``) opens no ORM session unless someone asks for ``session``: its
repository reads go through ``execute`` on one Core connection, which autobegins the unit's single transaction
(list and count share a snapshot) and rolls it back when the connection closes. That skips the ORM session and
its transaction bookkeeping, which cost a by-id read more CPU than its statement. A session asked for later joins
that connection and its transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self, overload

from sqlalchemy import Executable, Result
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.sql.selectable import TypedReturnsRows

from apibase.domain.entities import AggregateRoot
from apibase.domain.events import DomainEvent
from apibase.infrastructure.persistence.read_only import read_only_engine

__all__ = ["SQLAlchemyUnitOfWork"]


class SQLAlchemyUnitOfWork:
    """``UnitOfWork`` over an ``AsyncSession``; repositories reach the session and report touched aggregates."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._read_engine = read_only_engine(session_factory)
        self._active = False
        self._session: AsyncSession | None = None
        self._connection: AsyncConnection | None = None
        self._touched: list[AggregateRoot[object]] = []

    @property
    def session(self) -> AsyncSession:
        if not self._active:
            raise RuntimeError("the unit of work is not active: use 'async with uow:'")
        if self._session is None:  # a read unit's, made on demand (on its connection once that is open)
            joined = {} if self._connection is None else {"bind": self._connection}
            self._session = self._session_factory(**joined)
        return self._session

    @property
    def dialect(self) -> Dialect:
        """The database's dialect, known without opening a connection (or a session, when the factory has a bind)."""
        bind = getattr(self._session_factory, "kw", {}).get("bind") or self.session.get_bind()
        return bind.dialect

    @overload
    async def execute[*Row](
        self, statement: TypedReturnsRows[*Row], parameters: Mapping[str, object] | None = None
    ) -> Result[*Row]: ...

    @overload
    async def execute(
        self, statement: Executable, parameters: Mapping[str, object] | None = None
    ) -> Result[*tuple[object, ...]]: ...

    async def execute(
        self, statement: Executable, parameters: Mapping[str, object] | None = None
    ) -> Result[*tuple[object, ...]]:
        """Run a statement in this unit's transaction: on the session when there is one, else (a read unit) on
        the unit's Core connection."""
        if self._session is not None or self._read_engine is None:
            return await self.session.execute(statement, parameters)
        if not self._active:
            raise RuntimeError("the unit of work is not active: use 'async with uow:'")
        if self._connection is None:
            self._connection = await self._read_engine.connect()
        return await self._connection.execute(statement, parameters)

    async def __aenter__(self) -> Self:
        if self._active:
            raise RuntimeError("this unit of work is already active; use nested() for a savepoint")
        self._active = True
        if self._read_engine is None:
            self._session = self._session_factory()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        connection, self._connection = self._connection, None
        self._active = False
        try:
            if session is not None and session.in_transaction():
                await session.rollback()
        finally:
            self._touched.clear()
            try:
                if session is not None:
                    await session.close()
            finally:
                if connection is not None:
                    await connection.close()  # rolls its transaction back: the pool then skips its own reset

    async def commit(self) -> None:
        if self._session is not None or self._connection is None:
            await self.session.commit()
        if self._connection is not None:
            await self._connection.commit()

    async def rollback(self) -> None:
        if self._session is not None or self._connection is None:
            await self.session.rollback()
        if self._connection is not None and self._connection.in_transaction():
            await self._connection.rollback()
        self._touched.clear()

    @asynccontextmanager
    async def nested(self) -> AsyncIterator[Self]:
        async with self.session.begin_nested():
            yield self

    def track(self, entity: object) -> None:
        """Called by repositories for every entity they write, so its events can be collected."""
        if isinstance(entity, AggregateRoot):
            self._touched.append(entity)

    def collect_events(self) -> list[DomainEvent]:
        events = [event for aggregate in self._touched for event in aggregate.pull_events()]
        self._touched.clear()
        return events
