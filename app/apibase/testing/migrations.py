"""Migration checks for a service's suites, on SQLite and PostgreSQL alike: the schema each branch builds is its
models', where each branch is, a database of the old single history rebuilt to be adopted, and made-up module
branches for tests of the migration machinery itself.

Each function works on the caller's connection (inside its transaction), so a PostgreSQL test can run it in a
scratch schema and roll everything back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, delete, insert
from sqlalchemy.engine import Connection

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.branches import Migrations, in_order
from apibase.infrastructure.persistence.migrate import KERNEL_MIGRATIONS, upgrade_database
from apibase.infrastructure.persistence.schema import metadata

__all__ = ["as_legacy_database", "revisions_on", "schema_differences", "scratch_branch"]


def schema_differences(connection: Connection, branches: Sequence[Migrations]) -> list[object]:
    """What autogenerate would change in the tables of the kernel and ``branches``: nothing, when their migrations
    build their models."""
    owned = frozenset[str]().union(*(branch.tables for branch in in_order(KERNEL_MIGRATIONS, branches)))

    def include(item: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        return type_ != "table" or name in owned

    return list(compare_metadata(MigrationContext.configure(connection, opts={"include_object": include}), metadata))


def revisions_on(connection: Connection, branches: Sequence[Migrations]) -> dict[str, tuple[str, ...]]:
    """Per branch (the kernel's first), the revision(s) its version table holds on ``connection``."""
    return {
        branch.name: MigrationContext.configure(
            connection, opts={"version_table": branch.version_table}
        ).get_current_heads()
        for branch in in_order(KERNEL_MIGRATIONS, branches)
    }


def as_legacy_database(settings: Settings, branches: Sequence[Migrations], old: str, connection: Connection) -> None:
    """The schema the old single history had at revision ``old`` (each branch at its ``legacy`` equivalent),
    recorded the way that history recorded it: ``alembic_version`` holds ``old``, no module has a version table."""
    ordered = in_order(KERNEL_MIGRATIONS, branches)
    for branch in ordered:
        if equivalent := branch.legacy.get(old):
            upgrade_database(settings, branches, branch=branch.name, revision=equivalent, connection=connection)
    for branch in ordered[1:]:
        _version_table(branch.version_table).drop(connection, checkfirst=True)
    version = _version_table(KERNEL_MIGRATIONS.version_table)
    version.create(connection, checkfirst=True)
    connection.execute(delete(version))
    connection.execute(insert(version).values(version_num=old))


def _version_table(name: str) -> Table:
    """Alembic's version table, as Alembic creates it."""
    return Table(
        name,
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name=f"{name}_pkc"),
    )


def scratch_branch(
    folder: Path,
    name: str,
    tables: frozenset[str],
    steps: Sequence[tuple[str, str]],
    *,
    after: tuple[str, ...] = (),
    legacy: Mapping[str, str] | None = None,
) -> Migrations:
    """A module's branch made up for a test, in ``folder``: revision ``<name>_000N`` runs the SQL of step N, as
    (upgrade, downgrade); ``tables`` names the tables the SQL creates. Calling it again with more steps adds them."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, (upgrade, downgrade) in enumerate(steps, start=1):
        previous = f"{name}_{number - 1:04d}" if number > 1 else None
        (folder / f"{name}_{number:04d}_step.py").write_text(
            "from alembic import op\n\n"
            f"revision = {f'{name}_{number:04d}'!r}\ndown_revision = {previous!r}\n"
            "branch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade() -> None:\n    op.execute({upgrade!r})\n\n\n"
            f"def downgrade() -> None:\n    op.execute({downgrade!r})\n",
            encoding="utf-8",
        )
    return Migrations(name=name, versions=folder, tables=tables, after=after, legacy=dict(legacy or {}))
