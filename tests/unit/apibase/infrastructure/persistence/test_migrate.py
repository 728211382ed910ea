"""Migrations on SQLite: head is exactly the models' metadata, downgrade works, revisions are numbered."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from apibase.core.settings import Settings
from apibase.infrastructure.persistence import migrate
from apibase.infrastructure.persistence.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    create_revision,
    current_revisions,
    downgrade_database,
    head_revisions,
    upgrade_database,
    upgrade_database_async,
)
from apibase.infrastructure.persistence.schema import TABLE_MODELS, metadata
from shop.testing.migrations import (
    assert_order_returns_upgrade_keeps_rows,
    assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")


@pytest.fixture
def scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the migrations folder, so that new revisions never land in the source tree."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    return copy


async def schema_state(settings: Settings) -> tuple[list[object], set[str]]:
    """Differences between the database and the models, and the table names present."""
    engine = create_async_engine(settings.database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    return diffs, tables


def test_upgrade_to_head_produces_exactly_the_metadata(settings: Settings) -> None:
    assert current_revisions(settings) == ()

    upgrade_database(settings)

    assert current_revisions(settings) == head_revisions() == ("0007",)
    diffs, tables = asyncio.run(schema_state(settings))
    assert diffs == []
    assert tables == {model.__tablename__ for model in TABLE_MODELS} | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(settings: Settings) -> None:
    upgrade_database(settings)
    upgrade_database(settings)

    assert current_revisions(settings) == ("0007",)


def test_downgrade_to_base_removes_every_table(settings: Settings) -> None:
    upgrade_database(settings)

    downgrade_database(settings, "base")

    assert current_revisions(settings) == ()
    assert asyncio.run(schema_state(settings))[1] == {"alembic_version"}


async def test_upgrade_from_async_code(settings: Settings) -> None:
    await upgrade_database_async(settings)

    diffs, tables = await schema_state(settings)
    assert diffs == []
    assert "orders" in tables


@pytest.mark.parametrize(
    "check", [assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus, assert_order_returns_upgrade_keeps_rows]
)
async def test_upgrading_a_database_with_data_keeps_every_row(
    settings: Settings, check: Callable[[Settings, Connection], None]
) -> None:
    engine = create_async_engine(settings.database_url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: check(settings, sync))
    finally:
        await engine.dispose()


def test_offline_mode_prints_the_ddl(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    command.upgrade(alembic_config(settings), "head", sql=True)

    ddl = capsys.readouterr().out
    assert "CREATE TABLE products" in ddl
    assert "CREATE UNIQUE INDEX ix_products_tenant_id_sku ON products (tenant_id, sku) WHERE deleted_at IS NULL" in ddl
    assert "REFERENCES orders (id) ON DELETE CASCADE" in ddl


def test_a_percent_sign_in_the_url_survives() -> None:
    url = "postgresql+asyncpg://app:p%40ss%25word@db.internal/app"

    assert alembic_config(Settings(database_url=url)).get_main_option("sqlalchemy.url") == url


def test_a_manual_revision_is_numbered_after_head(settings: Settings, scripts: Path) -> None:
    path = create_revision(settings, "add a column", autogenerate=False)

    assert path == scripts / "versions" / "0008_add_a_column.py"
    source = path.read_text()
    assert "revision: str = '0008'" in source
    assert "down_revision: str | Sequence[str] | None = '0007'" in source
    assert migrate.head_revisions() == ("0008",)


def test_autogenerate_on_an_up_to_date_database_finds_nothing_and_ignores_foreign_tables(
    settings: Settings, scripts: Path
) -> None:
    upgrade_database(settings)

    async def add_foreign_table() -> None:
        engine = create_async_engine(settings.database_url, poolclass=pool.NullPool)
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE legacy_report (id INTEGER PRIMARY KEY)"))
        await engine.dispose()

    asyncio.run(add_foreign_table())

    source = create_revision(settings, "nothing to do").read_text()

    assert "op." not in source  # neither upgrade nor downgrade does anything
    assert "legacy_report" not in source


def test_autogenerate_from_scratch_reproduces_the_schema(settings: Settings, scripts: Path, tmp_path: Path) -> None:
    """Without the hand-checked revision, autogenerate must yield a migration that builds the same schema."""
    for revision in (scripts / "versions").glob("0*.py"):
        revision.unlink()

    path = create_revision(settings, "initial")
    source = path.read_text()
    upgrade_database(settings)

    assert path.name == "0001_initial.py"
    assert "from apibase.infrastructure.persistence.column_types import ExactDecimal" in source
    assert "ExactDecimal(precision=18, scale=2)" in source
    assert asyncio.run(schema_state(settings))[0] == []


def test_create_revision_insists_on_exactly_one_new_file(
    settings: Settings, scripts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command, "revision", lambda *args, **kwargs: None)

    with pytest.raises(RuntimeError, match="exactly one revision"):
        create_revision(settings, "nothing")


async def test_the_orders_rebuild_refuses_a_sqlite_connection_with_foreign_keys_on(settings: Settings) -> None:
    engine = create_async_engine(settings.database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()
            with pytest.raises(RuntimeError, match="foreign_keys=OFF"):
                await connection.run_sync(lambda sync: upgrade_database(settings, connection=sync))
    finally:
        await engine.dispose()
