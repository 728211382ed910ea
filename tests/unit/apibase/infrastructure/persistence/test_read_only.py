"""Read-only sessions on SQLite: they begin deferred, so a writer holding the lock never makes a read wait."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.core.errors import ConcurrencyConflict
from apibase.core.settings import Settings
from apibase.infrastructure.persistence import database
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.read_only import read_only_session_factory
from apibase.infrastructure.persistence.sqlite_round_trips import begin_transaction

pytestmark = pytest.mark.unit


async def test_a_read_only_session_reads_while_a_writer_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}"))

    @event.listens_for(engine.sync_engine, "connect")
    def impatient(dbapi_connection: Any, record: object) -> None:  # a waiting read fails at once instead of in 15 s
        dbapi_connection.cursor().execute("PRAGMA busy_timeout=10")

    began: list[str] = []

    def record(connection: Connection, statement: str) -> None:  # BEGIN goes past the cursor events
        began.append(statement)
        begin_transaction(connection, statement)

    monkeypatch.setattr(database, "begin_transaction", record)
    async with engine.begin() as setup:
        await setup.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
        await setup.execute(text("INSERT INTO item VALUES (1)"))
    sessions = create_session_factory(engine)
    try:
        async with sessions() as writer:
            await writer.execute(text("INSERT INTO item VALUES (2)"))  # BEGIN IMMEDIATE: holds the write lock
            async with read_only_session_factory(sessions)() as reader:
                assert (await reader.execute(text("SELECT count(*) FROM item"))).scalar_one() == 1
            async with sessions() as other_writer:
                with pytest.raises(ConcurrencyConflict):  # what every read met before: the writer's turn
                    await other_writer.execute(text("SELECT count(*) FROM item"))
            await writer.commit()
        assert began == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE", "BEGIN"]  # the other writer never got its turn
    finally:
        await engine.dispose()


def test_read_only_sessions_keep_the_factory_settings(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'kw.db'}"))
    reading = read_only_session_factory(create_session_factory(engine))

    assert reading.kw["expire_on_commit"] is False
    assert reading.kw["autoflush"] is False
    assert reading.kw["bind"].sync_engine.pool is engine.sync_engine.pool  # one pool for reads and writes


def test_read_only_sessions_need_one_engine() -> None:
    with pytest.raises(TypeError, match="one AsyncEngine"):
        read_only_session_factory(async_sessionmaker(class_=AsyncSession))
