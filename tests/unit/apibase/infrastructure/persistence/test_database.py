"""SQLite engine behaviour: a lost write race is a ConcurrencyConflict (409), never a raw driver error (500)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from apibase.core.errors import ConcurrencyConflict
from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, is_sqlite

pytestmark = pytest.mark.unit


async def test_a_stale_sqlite_writer_gets_a_concurrency_conflict(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"))
    async with engine.begin() as setup:
        await setup.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        await setup.execute(text("INSERT INTO counter VALUES (1, 0)"))
    first, second = await engine.connect(), await engine.connect()
    try:
        await first.begin()
        await second.begin()
        await first.execute(text("SELECT value FROM counter"))
        await second.execute(text("SELECT value FROM counter"))
        await first.execute(text("UPDATE counter SET value = 1"))
        await first.commit()
        with pytest.raises(ConcurrencyConflict):
            await second.execute(text("UPDATE counter SET value = 2"))
        await second.rollback()
    finally:
        await first.close()
        await second.close()
        await engine.dispose()


def test_backend_detection() -> None:
    assert is_sqlite("sqlite+aiosqlite:///x.db")
    assert not is_sqlite("postgresql+asyncpg://u@h/db")
