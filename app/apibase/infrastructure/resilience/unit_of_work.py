"""The "database" breaker around every SQL unit of work, so no repository needs to know about breakers.

The unit of work is the transaction boundary and every query of a use case runs inside it, so guarding the
``async with uow:`` block sees each connection failure (connect, query, commit, rollback) exactly once per use
case. While the circuit is open, entering the unit raises ``CircuitOpenError`` before a session or a connection
exists. It subclasses ``SQLAlchemyUnitOfWork`` because the SQL repositories accept only that type.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.infrastructure.resilience.breakers import BreakerGuard, CircuitBreakers

__all__ = ["GuardedSQLAlchemyUnitOfWork", "guarded_sql_unit_of_work_factory"]


class GuardedSQLAlchemyUnitOfWork(SQLAlchemyUnitOfWork):
    """``SQLAlchemyUnitOfWork`` whose whole transaction is one call through a breaker."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], guard: Callable[[], BreakerGuard]) -> None:
        super().__init__(session_factory)
        self._make_guard = guard
        self._guard: BreakerGuard | None = None

    async def __aenter__(self) -> Self:
        await super().__aenter__()  # only makes a session object; it connects on the first query
        guard = self._make_guard()
        try:
            await guard.__aenter__()
        except BaseException as refused:
            await super().__aexit__(type(refused), refused, refused.__traceback__)
            raise
        self._guard = guard
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        guard, self._guard = self._guard, None
        try:
            await super().__aexit__(exc_type, exc, traceback)
        except Exception as cleanup_failed:  # a rollback or close on a dead connection is a failure too
            if guard is not None:
                await guard.__aexit__(type(cleanup_failed), cleanup_failed, cleanup_failed.__traceback__)
            raise
        if guard is not None:
            await guard.__aexit__(exc_type, exc, traceback)


def guarded_sql_unit_of_work_factory(
    session_factory: async_sessionmaker[AsyncSession], breakers: CircuitBreakers, name: str = "database"
) -> Callable[[], UnitOfWork]:
    """Drop-in for ``sql_unit_of_work_factory``: a fresh guarded unit per use case, all sharing breaker ``name``."""
    breakers.policy(name)  # an unknown breaker name is a wiring mistake: fail at start-up, not on a request

    def unit_of_work() -> UnitOfWork:
        return GuardedSQLAlchemyUnitOfWork(session_factory, lambda: breakers.guard(name))

    return unit_of_work
