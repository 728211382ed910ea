"""``apibase db``: database migrations with the service's own settings (no ``alembic.ini`` needed)."""

from __future__ import annotations

from typing import Annotated

import typer
from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError

from apibase.core.settings import Settings, SettingsError, load_settings
from apibase.infrastructure.persistence.migrate import (
    create_revision,
    current_revisions,
    head_revisions,
    upgrade_database,
)

__all__ = ["DB_ERROR_EXIT_CODE", "SETTINGS_ERROR_EXIT_CODE", "db_cli"]

#: The same status as ``apibase settings`` for invalid configuration: a usage problem to fix.
SETTINGS_ERROR_EXIT_CODE = 2
#: The command itself failed: the database is unreachable or Alembic refused (e.g. an unknown revision).
DB_ERROR_EXIT_CODE = 1

db_cli = typer.Typer(name="db", help="Database migrations.", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=SETTINGS_ERROR_EXIT_CODE) from None


def _fail(exc: Exception) -> typer.Exit:
    """One line naming the failure; never the URL, which may hold a password."""
    typer.echo(f"{type(exc).__name__}: {str(exc).strip().partition(chr(10))[0]}", err=True)
    return typer.Exit(code=DB_ERROR_EXIT_CODE)


def _describe(revisions: tuple[str, ...]) -> str:
    heads = set(head_revisions())
    if not revisions:
        return "base (no migration applied)"
    return ", ".join(f"{revision} (head)" if revision in heads else revision for revision in revisions)


@db_cli.command("upgrade")
def upgrade_command(
    revision: Annotated[str, typer.Option("--revision", "-r", help="Target revision.")] = "head",
) -> None:
    """Migrate the database up to a revision (the newest by default)."""
    settings = _settings()
    try:
        upgrade_database(settings, revision)
        current = current_revisions(settings)
    except (CommandError, SQLAlchemyError, OSError) as exc:
        raise _fail(exc) from None
    typer.echo(f"database at {_describe(current)}")


@db_cli.command("revision")
def revision_command(
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision changes.")],
    autogenerate: Annotated[
        bool, typer.Option("--autogenerate/--no-autogenerate", help="Diff the models against the database.")
    ] = True,
) -> None:
    """Write a new numbered revision file; review it before committing."""
    settings = _settings()
    try:
        path = create_revision(settings, message, autogenerate=autogenerate)
    except (CommandError, SQLAlchemyError, OSError) as exc:
        raise _fail(exc) from None
    typer.echo(str(path))


@db_cli.command("current")
def current_command() -> None:
    """Show the revision the database is at, and whether it is the newest."""
    settings = _settings()
    try:
        current = current_revisions(settings)
    except (SQLAlchemyError, OSError) as exc:
        raise _fail(exc) from None
    typer.echo(_describe(current))
