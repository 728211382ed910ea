"""Kernel migrations on the real PostgreSQL: the kernel's branch builds exactly its models and goes back to base, and
a module's branch (made up here) keeps its table and version table while the module is away.

Each test migrates a schema of its own (``search_path``), so nothing collides with other tests in the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.migrate import downgrade_database, head_revisions, upgrade_database
from apibase.infrastructure.persistence.schema import TABLE_MODELS
from apibase.testing.migrations import as_legacy_database, revisions_on, schema_differences, scratch_branch
from apibase.testing.postgres import scratch_engine

pytestmark = pytest.mark.integration

KERNEL_TABLES = {model.__tablename__ for model in TABLE_MODELS}


@pytest.fixture
async def schema_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    async with scratch_engine(postgres_url, prefix="migrate") as engine:
        yield engine


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))


async def test_the_kernel_upgrade_produces_exactly_its_models_and_downgrade_removes_them(
    schema_engine: AsyncEngine, postgres_url: str
) -> None:
    settings = Settings(database_url=postgres_url)

    async with schema_engine.begin() as connection:
        await connection.run_sync(lambda sync: upgrade_database(settings, connection=sync))
    async with schema_engine.connect() as connection:
        diffs = await connection.run_sync(lambda sync: schema_differences(sync, []))
        heads = await connection.run_sync(lambda sync: revisions_on(sync, []))

    assert diffs == []
    assert heads == head_revisions()
    assert await tables(schema_engine) == KERNEL_TABLES | {"alembic_version"}

    async with schema_engine.begin() as connection:
        await connection.run_sync(
            lambda sync: downgrade_database(settings, [], branch="apibase", revision="base", connection=sync)
        )

    assert await tables(schema_engine) == {"alembic_version"}


async def test_a_removed_module_keeps_its_table_until_it_comes_back(
    schema_engine: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=postgres_url)
    create = ("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", "DROP TABLE notes")
    notes = scratch_branch(tmp_path / "notes", "notes", frozenset({"notes"}), [create])

    async with schema_engine.begin() as connection:
        await connection.run_sync(lambda sync: upgrade_database(settings, [notes], connection=sync))
        await connection.execute(text("INSERT INTO notes VALUES (1, 'kept')"))
    async with schema_engine.begin() as connection:
        await connection.run_sync(lambda sync: upgrade_database(settings, [], connection=sync))
    add = ("ALTER TABLE notes ADD COLUMN author TEXT", "ALTER TABLE notes DROP COLUMN author")
    back = scratch_branch(tmp_path / "notes", "notes", frozenset({"notes"}), [create, add])
    async with schema_engine.begin() as connection:
        await connection.run_sync(lambda sync: upgrade_database(settings, [back], connection=sync))
    async with schema_engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM notes"))).all()
        heads = await connection.run_sync(lambda sync: revisions_on(sync, [back]))

    assert [tuple(row) for row in rows] == [(1, "kept", None)]
    assert heads == {"apibase": ("apibase_0003",), "notes": ("notes_0002",)}


async def test_a_database_of_the_old_single_history_is_adopted(
    schema_engine: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=postgres_url)
    create = ("CREATE TABLE notes (id INTEGER PRIMARY KEY)", "DROP TABLE notes")
    notes = scratch_branch(tmp_path / "notes", "notes", frozenset({"notes"}), [create], legacy={"0004": "notes_0001"})

    async with schema_engine.begin() as connection:
        await connection.run_sync(lambda sync: as_legacy_database(settings, [notes], "0004", connection=sync))
    async with schema_engine.begin() as connection:
        await connection.run_sync(lambda sync: upgrade_database(settings, [notes], connection=sync))
    async with schema_engine.connect() as connection:
        heads = await connection.run_sync(lambda sync: revisions_on(sync, [notes]))

    assert heads == head_revisions([notes])
