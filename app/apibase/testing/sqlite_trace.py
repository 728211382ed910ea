"""What SQLite itself ran, statement by statement: also what SQLAlchemy's cursor events never see (a ``BEGIN``
goes straight to the driver, see ``sqlite_round_trips.py``)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util.concurrency import await_only

__all__ = ["trace_statements"]


def trace_statements(engine: AsyncEngine, into: list[str]) -> None:
    """Append each statement SQLite runs on the connections ``engine`` opens from now on (aiosqlite only)."""

    @event.listens_for(engine.sync_engine, "connect")
    def trace(dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        await_only(record.driver_connection.set_trace_callback(into.append))  # type: ignore[union-attr]
