"""``apibase db``: database migrations with the service's own settings (no ``alembic.ini`` needed).

The branches are the kernel's (``apibase``) and those of the modules of the configured service
(``APIBASE_SERVICE``, by default the installed one); each command reports one line per branch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated

import typer
from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError

from apibase.core.settings import Settings, SettingsError, load_settings
from apibase.infrastructure.persistence.branches import Migrations, in_order
from apibase.infrastructure.persistence.migrate import (
    KERNEL_MIGRATIONS,
    create_revision,
    current_revisions,
    downgrade_database,
    head_revisions,
    upgrade_database,
)
from apibase.module import migration_branches
from apibase.service import ServiceNotFound, load_service

__all__ = ["DB_ERROR_EXIT_CODE", "SETTINGS_ERROR_EXIT_CODE", "db_cli"]

#: The same status as ``apibase settings`` for invalid configuration: a usage problem to fix.
SETTINGS_ERROR_EXIT_CODE = 2
#: The command itself failed: the database is unreachable or Alembic refused (e.g. an unknown revision).
DB_ERROR_EXIT_CODE = 1

db_cli = typer.Typer(name="db", help="Database migrations.", no_args_is_help=True)

_FAILURES = (CommandError, SQLAlchemyError, OSError)

ModuleOption = Annotated[
    str, typer.Option("--module", help="The migration branch: a module's name, or apibase for the kernel's.")
]


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=SETTINGS_ERROR_EXIT_CODE) from None


def _branches(settings: Settings) -> list[Migrations]:
    """The kernel's branch, then the service's modules' branches, in the order they migrate."""
    try:
        return in_order(KERNEL_MIGRATIONS, migration_branches(load_service(settings.service).modules()))
    except (ServiceNotFound, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=SETTINGS_ERROR_EXIT_CODE) from None


def _branch(branches: Sequence[Migrations], name: str) -> Migrations:
    for branch in branches:
        if branch.name == name:
            return branch
    known = ", ".join(branch.name for branch in branches)
    raise typer.BadParameter(f"no migration branch {name!r} in this service (known: {known})", param_hint="--module")


def _fail(exc: Exception) -> typer.Exit:
    """One line naming the failure; never the URL, which may hold a password."""
    typer.echo(f"{type(exc).__name__}: {str(exc).strip().partition(chr(10))[0]}", err=True)
    return typer.Exit(code=DB_ERROR_EXIT_CODE)


def _report(branches: Sequence[Migrations], current: Mapping[str, tuple[str, ...]]) -> None:
    """One line per branch: where it is, and whether that is the newest revision the code knows."""
    heads = head_revisions(branches)
    for name, revisions in current.items():
        if not revisions:
            state = "base (no migration applied)"
        else:
            state = ", ".join(f"{rev} (head)" if rev in heads[name] else rev for rev in revisions)
        typer.echo(f"{name} at {state}")


@db_cli.command("upgrade")
def upgrade_command(
    module: Annotated[str | None, typer.Option("--module", help="Only this branch (default: every one).")] = None,
    revision: Annotated[str, typer.Option("--revision", "-r", help="Target revision (needs --module).")] = "head",
) -> None:
    """Migrate every branch up to its newest revision: the kernel's first, then each module's."""
    settings = _settings()
    branches = _branches(settings)
    if module is None and revision != "head":
        raise typer.BadParameter("a revision belongs to one branch: name it with --module", param_hint="--revision")
    if module is not None:
        _branch(branches, module)
    try:
        upgrade_database(settings, branches, branch=module, revision=revision)
        current = current_revisions(settings, branches)
    except _FAILURES as exc:
        raise _fail(exc) from None
    _report(branches, current)


@db_cli.command("downgrade")
def downgrade_command(
    module: ModuleOption,
    revision: Annotated[str, typer.Option("--revision", "-r", help="Target revision; base drops the branch's tables.")],
) -> None:
    """Take one branch back to a revision (e.g. before removing its module: --revision base)."""
    settings = _settings()
    branches = _branches(settings)
    _branch(branches, module)
    try:
        downgrade_database(settings, branches, branch=module, revision=revision)
        current = current_revisions(settings, branches)
    except _FAILURES as exc:
        raise _fail(exc) from None
    _report(branches, current)


@db_cli.command("revision")
def revision_command(
    module: ModuleOption,
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision changes.")],
    autogenerate: Annotated[
        bool, typer.Option("--autogenerate/--no-autogenerate", help="Diff the branch's tables against the database.")
    ] = True,
) -> None:
    """Write the branch's next numbered revision file; review it before committing."""
    settings = _settings()
    branch = _branch(_branches(settings), module)
    try:
        path = create_revision(settings, branch, message, autogenerate=autogenerate)
    except _FAILURES as exc:
        raise _fail(exc) from None
    typer.echo(str(path))


@db_cli.command("current")
def current_command() -> None:
    """Show the revision each branch is at, and whether it is the newest."""
    settings = _settings()
    branches = _branches(settings)
    try:
        current = current_revisions(settings, branches)
    except (SQLAlchemyError, OSError) as exc:
        raise _fail(exc) from None
    _report(branches, current)
