"""SQLite writers of one process take turns in arrival order; a turn ends with the transaction."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine

pytestmark = pytest.mark.unit


async def test_writers_take_turns_in_arrival_order(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"))
    async with engine.begin() as setup:
        await setup.execute(text("CREATE TABLE log (position INTEGER PRIMARY KEY AUTOINCREMENT, writer INTEGER)"))
    holding = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO log (writer) VALUES (0)"))
            holding.set()
            await release.wait()

    async def writer(number: int) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO log (writer) VALUES (:n)"), {"n": number})

    try:
        # Open the six connections first: the pool keeps them, so no writer's place in the queue depends on how
        # long a new connection (a thread, its pragmas) takes to open on a busy machine.
        warm = [await engine.connect() for _ in range(6)]
        for connection in warm:
            await connection.close()
        holder = asyncio.create_task(first())
        await holding.wait()
        waiting = []
        for number in range(1, 6):
            waiting.append(asyncio.create_task(writer(number)))
            await asyncio.sleep(0.01)  # each one queued before the next arrives
        release.set()
        await asyncio.gather(holder, *waiting)
        async with engine.connect() as connection:
            order = (await connection.execute(text("SELECT writer FROM log ORDER BY position"))).scalars().all()
        assert order == [0, 1, 2, 3, 4, 5]
    finally:
        await engine.dispose()


async def failing_write(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO item VALUES (1)"))
        raise RuntimeError("boom")


async def test_a_failed_transaction_gives_its_turn_back(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'failed.db'}"))
    async with engine.begin() as setup:
        await setup.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY)"))
    try:
        with pytest.raises(RuntimeError, match="boom"):
            await failing_write(engine)
        async with asyncio.timeout(5), engine.begin() as connection:  # would wait for the lost turn otherwise
            await connection.execute(text("INSERT INTO item VALUES (2)"))
    finally:
        await engine.dispose()
