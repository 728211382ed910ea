"""Every round trip an engine's connections make to PostgreSQL (asyncpg), in order: the statements SQLAlchemy runs
and what the driver sends past its cursor events (``BEGIN``, ``COMMIT``, ``ROLLBACK``, the pool's pre-ping ``;``),
plus ``PREPARE ...`` for each statement asyncpg has to prepare (a prepared-statement cache miss)."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["trace_round_trips"]


def trace_round_trips(engine: AsyncEngine, into: list[str]) -> None:
    """Append each round trip of the connections ``engine`` opens from now on to ``into`` (asyncpg only)."""

    class TracedConnection(asyncpg.Connection):  # type: ignore[misc]
        async def execute(self, query: str, *args: object, **options: object) -> object:
            into.append(query)
            return await super().execute(query, *args, **options)

        async def fetchrow(self, query: str, *args: object, **options: object) -> object:
            into.append(query)
            return await super().fetchrow(query, *args, **options)

        async def prepare(self, query: str, **options: object) -> object:
            into.append(f"PREPARE {query}")
            return await super().prepare(query, **options)

    @event.listens_for(engine.sync_engine, "do_connect")
    def traced(dialect: Dialect, record: ConnectionPoolEntry, cargs: object, cparams: dict[str, object]) -> None:
        cparams["connection_class"] = TracedConnection

    @event.listens_for(engine.sync_engine, "after_cursor_execute", named=True)
    def executed(statement: str, **_: object) -> None:
        into.append(statement)
