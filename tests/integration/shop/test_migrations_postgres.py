"""The shop's migration branches on the real PostgreSQL: with the kernel's they build exactly the models, each goes
back to base on its own, upgrades keep the data, and a database of the old single history is adopted.

Each test migrates a schema of its own (``search_path``), so nothing collides with other tests in the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.migrate import downgrade_database, head_revisions, upgrade_database
from apibase.infrastructure.persistence.schema import TABLE_MODELS
from apibase.testing.migrations import revisions_on, schema_differences
from apibase.testing.postgres import scratch_engine
from shop.testing.migrations import (
    LEGACY_REVISIONS,
    SHOP_BRANCHES,
    assert_legacy_database_is_adopted,
    assert_order_returns_upgrade_keeps_rows,
    assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus,
)

pytestmark = pytest.mark.integration

SHOP_TABLES = {"products", "product_sales", "product_sales_orders", "orders", "order_lines"}
VERSION_TABLES = {"alembic_version", "alembic_version_catalog", "alembic_version_ordering"}


@pytest.fixture
async def schema_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    async with scratch_engine(postgres_url, prefix="migrate") as engine:
        yield engine


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return Settings(database_url=postgres_url)


async def run(engine: AsyncEngine, work: Callable[[Connection], object]) -> object:
    async with engine.begin() as connection:
        return await connection.run_sync(work)


async def test_upgrade_produces_exactly_the_models_and_each_module_downgrades_on_its_own(
    schema_engine: AsyncEngine, settings: Settings
) -> None:
    await run(schema_engine, lambda sync: upgrade_database(settings, SHOP_BRANCHES, connection=sync))

    assert await run(schema_engine, lambda sync: schema_differences(sync, SHOP_BRANCHES)) == []
    assert await run(schema_engine, lambda sync: revisions_on(sync, SHOP_BRANCHES)) == head_revisions(SHOP_BRANCHES)
    kernel = {model.__tablename__ for model in TABLE_MODELS}
    everything = kernel | SHOP_TABLES | VERSION_TABLES
    assert await run(schema_engine, lambda sync: set(inspect(sync).get_table_names())) == everything

    for branch in reversed(SHOP_BRANCHES):
        await run(
            schema_engine,
            lambda sync, name=branch.name: downgrade_database(
                settings, SHOP_BRANCHES, branch=name, revision="base", connection=sync
            ),
        )

    assert await run(schema_engine, lambda sync: set(inspect(sync).get_table_names())) == kernel | VERSION_TABLES


@pytest.mark.parametrize(
    "check", [assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus, assert_order_returns_upgrade_keeps_rows]
)
async def test_upgrading_a_database_with_data_keeps_every_row(
    schema_engine: AsyncEngine, settings: Settings, check: Callable[[Settings, Connection], None]
) -> None:
    await run(schema_engine, lambda sync: check(settings, sync))


@pytest.mark.parametrize("old", LEGACY_REVISIONS)
async def test_a_database_of_the_old_single_history_is_adopted(
    schema_engine: AsyncEngine, settings: Settings, old: str
) -> None:
    await run(schema_engine, lambda sync: assert_legacy_database_is_adopted(settings, sync, old))
