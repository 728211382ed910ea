"""Migrations on the real PostgreSQL: head is exactly the models' metadata, and downgrade to base works.

Each test migrates a schema of its own (``search_path``), so nothing collides with other tests in the database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.migrate import downgrade_database, head_revisions, upgrade_database
from apibase.infrastructure.persistence.schema import TABLE_MODELS, metadata
from shop.testing.migrations import (
    assert_order_returns_upgrade_keeps_rows,
    assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def schema_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    schema = f"migrate_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(postgres_url, poolclass=pool.NullPool)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_async_engine(
        postgres_url, poolclass=pool.NullPool, connect_args={"server_settings": {"search_path": schema}}
    )
    yield engine
    await engine.dispose()
    async with admin.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


async def test_upgrade_produces_exactly_the_metadata_and_downgrade_removes_it(
    schema_engine: AsyncEngine, postgres_url: str
) -> None:
    settings = Settings(database_url=postgres_url)

    async with schema_engine.begin() as connection:
        await connection.run_sync(lambda sync: upgrade_database(settings, connection=sync))
    async with schema_engine.connect() as connection:
        diffs = await connection.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
        heads = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))

    assert diffs == []
    assert heads == head_revisions()
    assert tables == {model.__tablename__ for model in TABLE_MODELS} | {"alembic_version"}

    async with schema_engine.begin() as connection:
        await connection.run_sync(lambda sync: downgrade_database(settings, "base", connection=sync))
    async with schema_engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        heads = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())

    assert tables == {"alembic_version"}
    assert heads == ()


@pytest.mark.parametrize(
    "check", [assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus, assert_order_returns_upgrade_keeps_rows]
)
async def test_upgrading_a_database_with_data_keeps_every_row(
    schema_engine: AsyncEngine, postgres_url: str, check: Callable[[Settings, Connection], None]
) -> None:
    settings = Settings(database_url=postgres_url)

    async with schema_engine.begin() as connection:
        await connection.run_sync(lambda sync: check(settings, sync))
