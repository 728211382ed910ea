"""SQLite engine behaviour: a lost write race is a ConcurrencyConflict (409), never a raw driver error (500); a
file database's pool keeps the connections it opened."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import StaticPool

from apibase.core.errors import ConcurrencyConflict
from apibase.core.settings import DatabaseSettings, Settings
from apibase.infrastructure.persistence.database import SQLITE_WAL_SIZE_LIMIT, create_engine, is_sqlite
from apibase.infrastructure.pools.status import PoolStatus, database_status

pytestmark = pytest.mark.unit


async def test_sqlite_transactions_queue_instead_of_losing_a_write_race(tmp_path: Path) -> None:
    """Two read-then-write transactions at once: the second waits for the first (BEGIN IMMEDIATE) and reads its
    commit, so neither fails with "database is locked" and no increment is lost."""
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"))
    async with engine.begin() as setup:
        await setup.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        await setup.execute(text("INSERT INTO counter VALUES (1, 0)"))
    first_has_read = asyncio.Event()

    async def increment(*, first: bool) -> None:
        async with engine.begin() as connection:
            value = (await connection.execute(text("SELECT value FROM counter"))).scalar_one()
            if first:
                first_has_read.set()
                await asyncio.sleep(0.05)  # the other transaction is now waiting to begin
            await connection.execute(text("UPDATE counter SET value = :value"), {"value": value + 1})

    async def second() -> None:
        await first_has_read.wait()
        await increment(first=False)

    try:
        await asyncio.gather(increment(first=True), second())
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT value FROM counter"))).scalar_one() == 2
    finally:
        await engine.dispose()


async def test_a_sqlite_lock_held_past_the_busy_timeout_is_a_concurrency_conflict(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"))

    @event.listens_for(engine.sync_engine, "connect")
    def impatient(dbapi_connection: Any, record: object) -> None:  # after the engine's own PRAGMAs
        dbapi_connection.cursor().execute("PRAGMA busy_timeout=10")

    first, second = await engine.connect(), await engine.connect()
    try:
        await first.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: holds the write lock
        with pytest.raises(ConcurrencyConflict):
            await second.execute(text("SELECT 1"))
    finally:
        await first.close()
        await second.close()
        await engine.dispose()


def test_backend_detection() -> None:
    assert is_sqlite("sqlite+aiosqlite:///x.db")
    assert not is_sqlite("postgresql+asyncpg://u@h/db")


async def test_a_sqlite_file_keeps_every_connection_it_opened_up_to_the_ceiling(tmp_path: Path) -> None:
    """Two bursts past ``pool_size``: the second reuses the first's connections (SQLAlchemy's default pool closed
    all but 5 and opened them again, each with a new thread, its pragmas and the schema parsed again); one more
    than ``pool_size + max_overflow`` at once waits and times out."""
    pool = DatabaseSettings(pool_size=2, max_overflow=3, pool_timeout_seconds=0.2)
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}", database=pool))
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda connection, record: opened.append(connection))

    try:
        for _ in range(2):
            held: list[AsyncConnection] = [await engine.connect() for _ in range(5)]  # checked out: all open
            with pytest.raises(exc.TimeoutError):
                await engine.connect()
            for connection in held:
                await connection.close()
        assert len(opened) == 5
        assert database_status(engine.sync_engine.pool) == PoolStatus(limit=5, open=5, in_use=0, idle=5)
    finally:
        await engine.dispose()


async def test_a_sqlite_file_cuts_its_wal_back_once_a_checkpoint_restarts_it(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"))
    wal = tmp_path / "app.db-wal"
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_size_limit")).scalar_one() == SQLITE_WAL_SIZE_LIMIT
            await connection.exec_driver_sql("PRAGMA journal_size_limit=0")  # this connection: cut back to nothing
            await connection.exec_driver_sql("CREATE TABLE filler (data BLOB)")
            await connection.exec_driver_sql("INSERT INTO filler VALUES (zeroblob(1000000))")
            await connection.commit()
            assert wal.stat().st_size > 1_000_000
            with closing(sqlite3.connect(tmp_path / "app.db", isolation_level=None)) as other:
                other.execute("PRAGMA wal_checkpoint(RESTART)")  # the engine's connection holds no transaction now
            await connection.exec_driver_sql("INSERT INTO filler VALUES (1)")  # the first write after the restart
            await connection.commit()
        assert wal.stat().st_size < 100_000
    finally:
        await engine.dispose()


def test_an_in_memory_sqlite_database_keeps_its_one_connection() -> None:
    engine = create_engine(Settings(database_url="sqlite+aiosqlite://"))
    assert isinstance(engine.sync_engine.pool, StaticPool)
