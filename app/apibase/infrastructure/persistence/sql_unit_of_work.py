"""Glue between the ``UnitOfWork`` port and SQL repositories, which need the session of the unit they serve."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork

__all__ = ["require_sql_unit_of_work", "sql_unit_of_work_factory"]


def sql_unit_of_work_factory(session_factory: async_sessionmaker[AsyncSession]) -> Callable[[], UnitOfWork]:
    """A fresh unit (and so a fresh session) per use case: units are not shared between concurrent requests."""

    def unit_of_work() -> UnitOfWork:
        return SQLAlchemyUnitOfWork(session_factory)

    return unit_of_work


def require_sql_unit_of_work(unit_of_work: UnitOfWork) -> SQLAlchemyUnitOfWork:
    """Repository factories receive the port type; anything but a SQL unit here is a wiring mistake."""
    if not isinstance(unit_of_work, SQLAlchemyUnitOfWork):
        raise TypeError(f"SQL repositories need a SQLAlchemyUnitOfWork, got {type(unit_of_work).__name__}")
    return unit_of_work
