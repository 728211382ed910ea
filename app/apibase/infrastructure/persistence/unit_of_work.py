"""The SQLAlchemy unit of work: one session and transaction per use case, SAVEPOINTs for nested units."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.domain.entities import AggregateRoot
from apibase.domain.events import DomainEvent

__all__ = ["SQLAlchemyUnitOfWork"]


class SQLAlchemyUnitOfWork:
    """``UnitOfWork`` over an ``AsyncSession``; repositories reach the session and report touched aggregates."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None
        self._touched: list[AggregateRoot[object]] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not active: use 'async with uow:'")
        return self._session

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("this unit of work is already active; use nested() for a savepoint")
        self._session = self._session_factory()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            self._touched.clear()
            await session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()
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
