"""The shop's migration branches on SQLite: with the kernel's they build exactly the models, keep the data, adopt a
database of the old single history, and autogenerate within their own tables."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.migrate import (
    KERNEL_MIGRATIONS,
    alembic_config,
    create_revision,
    current_revisions,
    downgrade_database,
    head_revisions,
    upgrade_database,
)
from apibase.infrastructure.persistence.orm import Tenancy, tenancy_of
from apibase.infrastructure.persistence.schema import TABLE_MODELS
from apibase.interface.cli.main import cli
from apibase.testing.migrations import on_database, schema_differences, table_names
from shop.catalog.infrastructure.sales_tables import CountedOrderRow, ProductSalesRow
from shop.catalog.infrastructure.tables import ProductRow
from shop.catalog.module import CATALOG_MIGRATIONS
from shop.ordering.infrastructure.tables import OrderLineRow, OrderRow
from shop.ordering.module import ORDERING_MIGRATIONS
from shop.testing.migrations import (
    LEGACY_REVISIONS,
    SHOP_BRANCHES,
    assert_legacy_database_is_adopted,
    assert_order_returns_upgrade_keeps_rows,
    assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus,
)

pytestmark = pytest.mark.unit

HEADS = {"apibase": ("apibase_0003",), "catalog": ("catalog_0006",), "ordering": ("ordering_0005",)}
SHOP_TABLES = {"products", "product_sales", "product_sales_orders", "orders", "order_lines"}
VERSION_TABLES = {"alembic_version", "alembic_version_catalog", "alembic_version_ordering"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")


def test_the_shop_migrates_in_module_order_after_the_kernel() -> None:
    assert [branch.name for branch in SHOP_BRANCHES] == ["catalog", "ordering"]
    assert head_revisions(SHOP_BRANCHES) == HEADS
    assert CATALOG_MIGRATIONS.tables == {
        ProductRow.__tablename__,
        ProductSalesRow.__tablename__,
        CountedOrderRow.__tablename__,
    }
    assert ORDERING_MIGRATIONS.tables == {OrderRow.__tablename__, OrderLineRow.__tablename__}


def test_upgrade_to_head_produces_exactly_the_models(settings: Settings) -> None:
    upgrade_database(settings, SHOP_BRANCHES)

    assert current_revisions(settings, SHOP_BRANCHES) == HEADS
    assert on_database(settings, lambda sync: schema_differences(sync, SHOP_BRANCHES)) == []
    assert table_names(settings) == {model.__tablename__ for model in TABLE_MODELS} | SHOP_TABLES | VERSION_TABLES


def test_each_module_downgrades_to_base_on_its_own(settings: Settings) -> None:
    upgrade_database(settings, SHOP_BRANCHES)

    downgrade_database(settings, SHOP_BRANCHES, branch="ordering", revision="base")
    downgrade_database(settings, SHOP_BRANCHES, branch="catalog", revision="base")

    assert current_revisions(settings, SHOP_BRANCHES) == {**HEADS, "catalog": (), "ordering": ()}
    assert table_names(settings) & SHOP_TABLES == set()
    assert on_database(settings, lambda sync: schema_differences(sync, [])) == []  # the kernel's are intact


@pytest.mark.parametrize(
    "check", [assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus, assert_order_returns_upgrade_keeps_rows]
)
def test_upgrading_a_database_with_data_keeps_every_row(
    settings: Settings, check: Callable[[Settings, Connection], None]
) -> None:
    on_database(settings, lambda sync: check(settings, sync))


#: What each revision of the old single history had done, per branch: 0001 products, orders and lines; 0002
#: identity; 0003 tenancy, audit and idempotency; 0004 the shipping address; 0005 the partial sku index; 0006
#: returns; 0007 the product authors.
OLD_HISTORY = {
    "0001": (None, "catalog_0001", "ordering_0001"),
    "0002": ("apibase_0001", "catalog_0001", "ordering_0001"),
    "0003": ("apibase_0002", "catalog_0002", "ordering_0002"),
    "0004": ("apibase_0002", "catalog_0002", "ordering_0003"),
    "0005": ("apibase_0002", "catalog_0003", "ordering_0003"),
    "0006": ("apibase_0002", "catalog_0003", "ordering_0004"),
    "0007": ("apibase_0002", "catalog_0004", "ordering_0004"),
}


def test_each_branch_maps_the_old_single_history_to_its_equivalents() -> None:
    branches = [KERNEL_MIGRATIONS, *SHOP_BRANCHES]
    assert tuple(OLD_HISTORY) == LEGACY_REVISIONS
    for old, equivalents in OLD_HISTORY.items():
        assert tuple(branch.legacy.get(old) for branch in branches) == equivalents, old


@pytest.mark.parametrize("old", LEGACY_REVISIONS)
def test_a_database_of_the_old_single_history_is_adopted(settings: Settings, old: str) -> None:
    on_database(settings, lambda sync: assert_legacy_database_is_adopted(settings, sync, old))

    assert current_revisions(settings, SHOP_BRANCHES) == HEADS  # committed with the upgrade


def test_offline_mode_prints_the_ddl(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    for branch in SHOP_BRANCHES:
        command.upgrade(alembic_config(settings, branch), "head", sql=True)

    ddl = capsys.readouterr().out
    assert "CREATE TABLE alembic_version_catalog" in ddl
    assert "CREATE TABLE products" in ddl
    assert "CREATE UNIQUE INDEX ix_products_tenant_id_sku ON products (tenant_id, sku) WHERE deleted_at IS NULL" in ddl
    assert "REFERENCES orders (id) ON DELETE CASCADE" in ddl


def test_autogenerate_on_an_up_to_date_database_finds_nothing(settings: Settings, tmp_path: Path) -> None:
    upgrade_database(settings, SHOP_BRANCHES)
    catalog = replace(CATALOG_MIGRATIONS, versions=tmp_path / "catalog")
    shutil.copytree(CATALOG_MIGRATIONS.versions, catalog.versions, ignore=shutil.ignore_patterns("__pycache__"))

    path = create_revision(settings, catalog, "nothing to do")

    assert path.name == "catalog_0007_nothing_to_do.py"
    assert "op." not in path.read_text()


@pytest.mark.parametrize("name", ["catalog", "ordering"])
def test_autogenerate_from_scratch_reproduces_the_module_s_schema(
    settings: Settings, tmp_path: Path, name: str
) -> None:
    """Without the hand-checked revisions, autogenerate must yield a migration that builds the same tables."""
    [empty] = [replace(branch, versions=tmp_path / "empty") for branch in SHOP_BRANCHES if branch.name == name]
    branches = [empty if branch.name == name else branch for branch in SHOP_BRANCHES]

    path = create_revision(settings, empty, "initial")
    upgrade_database(settings, branches)

    assert path.name == f"{name}_0001_initial.py"
    assert "from apibase.infrastructure.persistence.column_types import ExactDecimal" in path.read_text()
    assert on_database(settings, lambda sync: schema_differences(sync, SHOP_BRANCHES)) == []


async def test_the_orders_rebuild_refuses_a_sqlite_connection_with_foreign_keys_on(settings: Settings) -> None:
    engine = create_async_engine(settings.database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()
            with pytest.raises(RuntimeError, match="foreign_keys=OFF"):
                await connection.run_sync(lambda sync: upgrade_database(settings, SHOP_BRANCHES, connection=sync))
    finally:
        await engine.dispose()


def test_the_shop_s_tables_declare_their_tenancy() -> None:
    rows = (ProductRow, ProductSalesRow, CountedOrderRow, OrderRow, OrderLineRow)
    assert {row.__tablename__: tenancy_of(row) for row in rows} == {
        "products": Tenancy.TENANT,
        "product_sales": Tenancy.TENANT,
        "product_sales_orders": Tenancy.TENANT,
        "orders": Tenancy.TENANT,
        "order_lines": Tenancy.GLOBAL,  # reached only through its order
    }
    assert "tenant_id" in ProductRow.__table__.c
    assert "tenant_id" in OrderRow.__table__.c


def test_apibase_db_upgrade_reports_each_branch_of_the_shop(settings: Settings) -> None:
    env = {"APIBASE_DATABASE_URL": settings.database_url, "APIBASE_SERVICE": "shop.main:SERVICE"}

    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)

    assert (result.exit_code, result.stdout) == (
        0,
        "apibase at apibase_0003 (head)\ncatalog at catalog_0006 (head)\nordering at ordering_0005 (head)\n",
    )
