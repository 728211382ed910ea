"""Migrations on SQLite, kernel only: the kernel's branch builds exactly its models, and module branches (made up
here) run after it with version tables of their own, so removing a module never strands the database."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.branches import Migrations
from apibase.infrastructure.persistence.migrate import (
    KERNEL_MIGRATIONS,
    alembic_config,
    create_revision,
    current_revisions,
    downgrade_database,
    head_revisions,
    upgrade_database,
    upgrade_database_async,
)
from apibase.infrastructure.persistence.schema import TABLE_MODELS
from apibase.testing.migrations import (
    as_legacy_database,
    on_database,
    revisions_on,
    schema_differences,
    scratch_branch,
    table_names,
)

pytestmark = pytest.mark.unit

KERNEL_HEAD = {"apibase": ("apibase_0003",)}
KERNEL_TABLES = {model.__tablename__ for model in TABLE_MODELS}
NOTES_TABLE = ("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", "DROP TABLE notes")
NOTES_COLUMN = ("ALTER TABLE notes ADD COLUMN author TEXT", "ALTER TABLE notes DROP COLUMN author")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")


@pytest.fixture
def notes(tmp_path: Path) -> Migrations:
    """A module's branch with one revision that creates its ``notes`` table."""
    return scratch_branch(tmp_path / "notes", "notes", frozenset({"notes"}), [NOTES_TABLE])


@pytest.fixture
def kernel_copy(tmp_path: Path) -> Migrations:
    """The kernel's branch on a private copy of its revisions, so that new ones never land in the source tree."""
    copy = tmp_path / "kernel"
    shutil.copytree(KERNEL_MIGRATIONS.versions, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return replace(KERNEL_MIGRATIONS, versions=copy)


def differences(settings: Settings, branches: Sequence[Migrations] = ()) -> list[object]:
    return on_database(settings, lambda sync: schema_differences(sync, branches))


def notes_rows(settings: Settings) -> list[tuple[object, ...]]:
    return on_database(settings, lambda sync: [tuple(row) for row in sync.execute(text("SELECT * FROM notes"))])


def test_upgrade_to_head_builds_exactly_the_kernel_models(settings: Settings) -> None:
    assert current_revisions(settings) == {"apibase": ()}

    upgrade_database(settings)

    assert current_revisions(settings) == head_revisions() == KERNEL_HEAD
    assert differences(settings) == []
    assert table_names(settings) == KERNEL_TABLES | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(settings: Settings, notes: Migrations) -> None:
    upgrade_database(settings, [notes])
    upgrade_database(settings, [notes])

    assert current_revisions(settings, [notes]) == {**KERNEL_HEAD, "notes": ("notes_0001",)}


def test_a_module_branch_runs_after_the_kernel_with_its_own_version_table(
    settings: Settings, notes: Migrations
) -> None:
    upgrade_database(settings, [notes])

    assert current_revisions(settings, [notes]) == head_revisions([notes]) == {**KERNEL_HEAD, "notes": ("notes_0001",)}
    assert table_names(settings) == KERNEL_TABLES | {"alembic_version", "notes", "alembic_version_notes"}
    assert differences(settings) == []  # the kernel's comparison never looks at the module's table


def test_removing_a_module_leaves_its_table_and_history_until_it_comes_back(
    settings: Settings, notes: Migrations, tmp_path: Path
) -> None:
    upgrade_database(settings, [notes])
    on_database(settings, lambda sync: sync.execute(text("INSERT INTO notes (body) VALUES ('kept')")))

    upgrade_database(settings)  # the module is gone from the service

    assert current_revisions(settings, [notes]) == {**KERNEL_HEAD, "notes": ("notes_0001",)}
    assert notes_rows(settings) == [(1, "kept")]

    back = scratch_branch(tmp_path / "notes", "notes", frozenset({"notes"}), [NOTES_TABLE, NOTES_COLUMN])
    upgrade_database(settings, [back])

    assert current_revisions(settings, [back])["notes"] == ("notes_0002",)
    assert notes_rows(settings) == [(1, "kept", None)]


def test_a_branch_waits_for_the_branches_named_in_after(settings: Settings, notes: Migrations, tmp_path: Path) -> None:
    """``digest`` is listed first, but its revision writes into ``notes``, which must exist by then."""
    fill = ("INSERT INTO notes (body) VALUES ('from digest')", "DELETE FROM notes")
    digest = scratch_branch(tmp_path / "digest", "digest", frozenset(), [fill], after=("notes",))

    upgrade_database(settings, [digest, notes])

    assert list(current_revisions(settings, [digest, notes])) == ["apibase", "notes", "digest"]
    assert notes_rows(settings) == [(1, "from digest")]


def test_one_branch_to_a_revision(settings: Settings, notes: Migrations, tmp_path: Path) -> None:
    two = scratch_branch(tmp_path / "notes", "notes", frozenset({"notes"}), [NOTES_TABLE, NOTES_COLUMN])

    upgrade_database(settings, [two], branch="notes", revision="notes_0001")

    assert current_revisions(settings, [two]) == {"apibase": (), "notes": ("notes_0001",)}
    with pytest.raises(ValueError, match="names its branch"):
        upgrade_database(settings, [two], revision="notes_0001")
    with pytest.raises(LookupError, match="no migration branch 'nope'"):
        upgrade_database(settings, [two], branch="nope")


def test_downgrading_a_module_to_base_drops_only_its_tables(settings: Settings, notes: Migrations) -> None:
    upgrade_database(settings, [notes])

    downgrade_database(settings, [notes], branch="notes", revision="base")

    assert current_revisions(settings, [notes]) == {**KERNEL_HEAD, "notes": ()}
    assert table_names(settings) == KERNEL_TABLES | {"alembic_version", "alembic_version_notes"}


def test_downgrade_the_kernel_to_base_removes_its_tables(settings: Settings) -> None:
    upgrade_database(settings)

    downgrade_database(settings, [], branch="apibase", revision="base")

    assert current_revisions(settings) == {"apibase": ()}
    assert table_names(settings) == {"alembic_version"}


async def test_upgrade_from_async_code(settings: Settings, notes: Migrations) -> None:
    await upgrade_database_async(settings, [notes])

    engine = create_async_engine(settings.database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(lambda sync: revisions_on(sync, [notes])) == {
                **KERNEL_HEAD,
                "notes": ("notes_0001",),
            }
    finally:
        await engine.dispose()


IDENTITY_TABLES = {"users", "tenant_registrations", "api_keys", "refresh_sessions"}
#: What the old single history had of the kernel's tables by its last revision (the event tables came later).
LEGACY_KERNEL_TABLES = IDENTITY_TABLES | {"audit_log", "idempotency_keys"}


@pytest.mark.parametrize(
    ("old", "kernel_tables"), [("0001", set()), ("0002", IDENTITY_TABLES), ("0007", LEGACY_KERNEL_TABLES)]
)
def test_a_database_of_the_old_single_history_is_adopted(
    settings: Settings, tmp_path: Path, old: str, kernel_tables: set[str]
) -> None:
    """``alembic_version`` held the one history's revision: each branch gets its equivalent, then goes to head."""
    notes = scratch_branch(
        tmp_path / "notes", "notes", frozenset({"notes"}), [NOTES_TABLE, NOTES_COLUMN], legacy={old: "notes_0001"}
    )
    on_database(settings, lambda sync: as_legacy_database(settings, [notes], old, sync))
    assert on_database(settings, lambda sync: revisions_on(sync, [notes])) == {"apibase": (old,), "notes": ()}
    assert table_names(settings) == kernel_tables | {"alembic_version", "notes"}

    upgrade_database(settings, [notes])

    assert current_revisions(settings, [notes]) == {**KERNEL_HEAD, "notes": ("notes_0002",)}
    assert differences(settings) == []


def test_offline_mode_prints_the_ddl_of_one_branch(
    settings: Settings, notes: Migrations, capsys: pytest.CaptureFixture[str]
) -> None:
    command.upgrade(alembic_config(settings), "head", sql=True)
    command.upgrade(alembic_config(settings, notes), "head", sql=True)

    kernel, _, module = capsys.readouterr().out.partition("CREATE TABLE alembic_version_notes")
    assert "CREATE TABLE alembic_version " in kernel
    assert "CREATE TABLE users" in kernel
    assert "REFERENCES users (id) ON DELETE CASCADE" in kernel
    assert "CREATE TABLE notes" in module
    assert "users" not in module


def test_a_percent_sign_in_the_url_survives() -> None:
    url = "postgresql+asyncpg://app:p%40ss%25word@db.internal/app"

    assert alembic_config(Settings(database_url=url)).get_main_option("sqlalchemy.url") == url


def test_a_manual_revision_is_numbered_within_its_branch(settings: Settings, notes: Migrations) -> None:
    path = create_revision(settings, notes, "add a column", autogenerate=False)

    assert path == notes.versions / "notes_0002_add_a_column.py"
    source = path.read_text()
    assert "revision: str = 'notes_0002'" in source
    assert "down_revision: str | Sequence[str] | None = 'notes_0001'" in source
    assert head_revisions([notes])["notes"] == ("notes_0002",)


def test_a_new_module_s_first_revision(settings: Settings, tmp_path: Path) -> None:
    fresh = Migrations(name="fresh", versions=tmp_path / "fresh" / "migrations", tables=frozenset())

    path = create_revision(settings, fresh, "start", autogenerate=False)

    assert path == fresh.versions / "fresh_0001_start.py"
    assert "down_revision: str | Sequence[str] | None = None" in path.read_text()


def test_autogenerate_compares_only_the_branch_s_own_tables(
    settings: Settings, kernel_copy: Migrations, notes: Migrations
) -> None:
    """An up-to-date kernel: nothing to do, whatever else the database holds (a module's table, another tool's)."""
    upgrade_database(settings, [kernel_copy, notes])
    on_database(settings, lambda sync: sync.execute(text("CREATE TABLE legacy_report (id INTEGER PRIMARY KEY)")))

    source = create_revision(settings, kernel_copy, "nothing to do").read_text()

    assert "op." not in source  # neither upgrade nor downgrade does anything
    assert "legacy_report" not in source
    assert "notes" not in source


def test_autogenerate_from_scratch_reproduces_the_kernel_schema(settings: Settings, kernel_copy: Migrations) -> None:
    """Without the hand-checked revisions, autogenerate must yield a migration that builds the same schema."""
    for revision in kernel_copy.versions.glob("*.py"):
        revision.unlink()

    path = create_revision(settings, kernel_copy, "initial")
    source = path.read_text()
    upgrade_database(settings, [kernel_copy])

    assert path.name == "apibase_0001_initial.py"
    assert "from apibase.infrastructure.persistence.column_types import UTCDateTime" in source
    assert differences(settings) == []


def test_create_revision_insists_on_exactly_one_new_file(
    settings: Settings, notes: Migrations, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command, "revision", lambda *args, **kwargs: None)

    with pytest.raises(RuntimeError, match="exactly one revision"):
        create_revision(settings, notes, "nothing")
