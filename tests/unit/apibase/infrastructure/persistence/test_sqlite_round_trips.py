"""A SQLite transaction makes as few trips to aiosqlite's thread as its statements need, and loses nothing by it."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.core.errors import WriteContention
from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine

pytestmark = pytest.mark.unit


def sqlite_engine(path: Path) -> AsyncEngine:
    return create_engine(Settings(database_url=f"sqlite+aiosqlite:///{path}"))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = sqlite_engine(tmp_path / "trips.db")
    async with engine.begin() as setup:
        await setup.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every function aiosqlite's thread runs for the event loop, by name."""
    counted: Counter[str] = Counter()
    run = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        counted[getattr(function, "__name__", "?")] += 1
        return await run(self, function, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return counted


async def test_a_committed_one_row_write_takes_five_trips(engine: AsyncEngine, trips: Counter[str]) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO item VALUES (1)"))
    # BEGIN IMMEDIATE in one trip (not cursor, execute, close); no rollback of a committed connection on return
    assert trips == {"execute": 2, "cursor": 1, "close": 1, "commit": 1}


async def test_a_transaction_still_open_on_return_is_rolled_back(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await connection.commit()
        await driver.execute("BEGIN IMMEDIATE")  # behind SQLAlchemy's back: only SQLite knows it is open
        await driver.execute("INSERT INTO item VALUES (7)")
    async with engine.begin() as connection:  # the write lock was given back with the connection
        assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar_one() == 0


async def test_a_lock_another_process_holds_past_the_busy_timeout_is_write_contention(tmp_path: Path) -> None:
    ours, theirs = sqlite_engine(tmp_path / "shared.db"), sqlite_engine(tmp_path / "shared.db")

    @event.listens_for(ours.sync_engine, "connect")
    def impatient(dbapi_connection: Any, record: object) -> None:  # after the engine's own PRAGMAs
        dbapi_connection.cursor().execute("PRAGMA busy_timeout=10")

    try:
        async with theirs.begin() as holding:  # another engine: another process's writer, not a queued turn
            await holding.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
            with pytest.raises(WriteContention):
                async with ours.begin() as connection:
                    await connection.execute(text("SELECT 1"))
        async with ours.begin() as connection:  # the failed BEGIN left the connection usable
            assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar_one() == 0
    finally:
        await ours.dispose()
        await theirs.dispose()
