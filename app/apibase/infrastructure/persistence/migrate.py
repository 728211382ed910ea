"""Alembic driven from code: no ``alembic.ini``, so migrations run the same from a checkout or an installed wheel.

Every branch (the kernel's, then one per module, see :mod:`~apibase.infrastructure.persistence.branches`) shares
the ``migrations`` folder next to this module (``env.py`` and the revision template) and has its own versions
folder and version table; the database URL comes from :class:`~apibase.core.settings.Settings`. The synchronous
functions suit the CLI; from a running event loop (an app's start-up) use :func:`upgrade_database_async`, since
they would otherwise start a second loop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.branches import KERNEL_BRANCH, Migrations, in_order
from apibase.infrastructure.persistence.database import is_sqlite, serialize_sqlite_transactions
from apibase.infrastructure.persistence.schema import TABLE_MODELS

__all__ = [
    "KERNEL_MIGRATIONS",
    "MIGRATIONS_DIR",
    "alembic_config",
    "create_revision",
    "current_revisions",
    "downgrade_database",
    "head_revisions",
    "upgrade_database",
    "upgrade_database_async",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: The kernel's branch: identity, audit and idempotency tables; ``legacy`` maps the old single history onto it.
KERNEL_MIGRATIONS = Migrations(
    name=KERNEL_BRANCH,
    versions=MIGRATIONS_DIR / "versions",
    tables=frozenset(model.__tablename__ for model in TABLE_MODELS),
    legacy={"0002": "apibase_0001", **dict.fromkeys(("0003", "0004", "0005", "0006", "0007"), "apibase_0002")},
)

type _Work = Callable[[Connection], None]


def alembic_config(
    settings: Settings, branch: Migrations = KERNEL_MIGRATIONS, *, connection: Connection | None = None
) -> Config:
    """An Alembic config for one branch; with ``connection``, migrations run on it (inside its transaction)."""
    config = Config()
    # ConfigParser treats % as interpolation; a password or a path may contain one.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(branch.versions).replace("%", "%%"))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    config.attributes["branch"] = branch
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_database(
    settings: Settings,
    branches: Sequence[Migrations] = (),
    *,
    branch: str | None = None,
    revision: str = "head",
    connection: Connection | None = None,
) -> None:
    """Every branch to its head, the kernel's first, in one transaction; with ``branch``, that one to ``revision``.

    A database of the old single history is adopted first (see :func:`_adopt_legacy`).
    """
    if branch is None and revision != "head":
        raise ValueError("a revision other than head names its branch")
    if connection is None:
        _in_transaction(
            settings,
            lambda sync: upgrade_database(settings, branches, branch=branch, revision=revision, connection=sync),
        )
        return
    ordered = in_order(KERNEL_MIGRATIONS, branches)
    targets = ordered if branch is None else [_named(ordered, branch)]
    _adopt_legacy(settings, ordered, connection)
    for each in targets:
        command.upgrade(alembic_config(settings, each, connection=connection), revision)


def downgrade_database(
    settings: Settings,
    branches: Sequence[Migrations],
    *,
    branch: str,
    revision: str,
    connection: Connection | None = None,
) -> None:
    """Take one branch back to ``revision`` (``"base"`` drops its tables: how a module leaves the database)."""
    if connection is None:
        _in_transaction(
            settings,
            lambda sync: downgrade_database(settings, branches, branch=branch, revision=revision, connection=sync),
        )
        return
    ordered = in_order(KERNEL_MIGRATIONS, branches)
    target = _named(ordered, branch)
    _adopt_legacy(settings, ordered, connection)
    command.downgrade(alembic_config(settings, target, connection=connection), revision)


async def upgrade_database_async(settings: Settings, branches: Sequence[Migrations] = ()) -> None:
    """The same upgrade from async code: one transaction on the settings' database, via ``run_sync``."""
    await _in_transaction_async(settings, lambda sync: upgrade_database(settings, branches, connection=sync))


def head_revisions(branches: Sequence[Migrations] = ()) -> dict[str, tuple[str, ...]]:
    """Per branch, in migration order, the newest revision(s) the code knows (none for a branch without any)."""
    return {each.name: tuple(_scripts(each).get_heads()) for each in in_order(KERNEL_MIGRATIONS, branches)}


def current_revisions(settings: Settings, branches: Sequence[Migrations] = ()) -> dict[str, tuple[str, ...]]:
    """Per branch, in migration order, the revision(s) the database is at; empty for a branch never migrated."""
    ordered = in_order(KERNEL_MIGRATIONS, branches)

    def read(sync: Connection) -> dict[str, tuple[str, ...]]:
        return {each.name: _context(sync, each).get_current_heads() for each in ordered}

    async def run() -> dict[str, tuple[str, ...]]:
        engine = create_async_engine(settings.database_url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def create_revision(settings: Settings, branch: Migrations, message: str, *, autogenerate: bool = True) -> Path:
    """Write the branch's next revision file and return its path; autogenerate compares the branch's tables only.

    Revisions are numbered within their branch (``catalog_0002_<slug>.py`` after ``catalog_0001``) so the folder
    lists them in order. Always read and edit an autogenerated file before committing it: renames, data moves
    and server defaults need a human.
    """
    number = re.compile(rf"^{re.escape(branch.name)}_(\d+)$")
    taken = [int(match[1]) for script in _scripts(branch).walk_revisions() if (match := number.match(script.revision))]
    rev_id = f"{branch.name}_{max(taken, default=0) + 1:04d}"
    branch.versions.mkdir(parents=True, exist_ok=True)
    config = alembic_config(settings, branch)
    script = command.revision(config, message=message, autogenerate=autogenerate, rev_id=rev_id)
    if script is None or isinstance(script, list):  # only for multi-head "merge"-style calls, never here
        raise RuntimeError("alembic did not create exactly one revision")
    return Path(script.path)


def _adopt_legacy(settings: Settings, branches: Sequence[Migrations], connection: Connection) -> None:
    """A database of the old single history holds one of its revisions in ``alembic_version``, the kernel's
    table now: give every branch its equivalent (``Migrations.legacy``), in the caller's transaction."""
    legacy = {old for each in branches for old in each.legacy}
    found = [revision for revision in _context(connection, branches[0]).get_current_heads() if revision in legacy]
    if not found:
        return
    [old] = found  # the old history was linear
    for each in branches:
        command.stamp(alembic_config(settings, each, connection=connection), each.legacy.get(old, "base"), purge=True)


def _in_transaction(settings: Settings, work: _Work) -> None:
    asyncio.run(_in_transaction_async(settings, work))


async def _in_transaction_async(settings: Settings, work: _Work) -> None:
    engine = create_async_engine(settings.database_url, poolclass=pool.NullPool)
    if is_sqlite(settings.database_url):  # one migration at a time: several workers may start on a new database
        serialize_sqlite_transactions(engine)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(work)
    finally:
        await engine.dispose()


def _named(branches: Sequence[Migrations], name: str) -> Migrations:
    for each in branches:
        if each.name == name:
            return each
    raise LookupError(f"no migration branch {name!r} (known: {', '.join(each.name for each in branches)})")


def _scripts(branch: Migrations) -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR), version_locations=[str(branch.versions)])


def _context(connection: Connection, branch: Migrations) -> MigrationContext:
    return MigrationContext.configure(connection, opts={"version_table": branch.version_table})
