"""The ``apibase`` command: operational entry points that share the service's settings and code.

Each group of commands is its own Typer app mounted on :data:`cli` with ``cli.add_typer(sub_app, name=...)``
(``serve``, ``db``, ``events``, ``new``, ``security``); this module only holds the root and the commands with no
better home.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit, urlunsplit

import typer

from apibase.core.settings import Settings, SettingsError, load_settings
from apibase.interface.cli.db import db_cli
from apibase.interface.cli.events import events_cli
from apibase.interface.cli.new import new_cli
from apibase.interface.cli.security import security_cli
from apibase.interface.cli.serve import serve

__all__ = ["SETTINGS_ERROR_EXIT_CODE", "cli", "main", "masked_settings"]

DISTRIBUTION = "apibase"
#: Exit status for invalid configuration: a usage problem to fix, unlike 1 (the command itself failed).
SETTINGS_ERROR_EXIT_CODE = 2
MASK = "**********"
_SECRET_WORDS = ("secret", "password", "token", "key")

# Named ``cli`` rather than ``app`` so that it never shadows the ``app`` package in this module.
cli = typer.Typer(
    name="apibase",
    help="API Base service tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cli.add_typer(db_cli, name="db")
cli.add_typer(events_cli, name="events")
cli.add_typer(new_cli, name="new")
cli.add_typer(security_cli, name="security")
cli.command("serve")(serve)


@cli.command("version")
def version_command() -> None:
    """Print the installed apibase version."""
    try:
        typer.echo(version(DISTRIBUTION))
    except PackageNotFoundError:
        typer.echo(f"{DISTRIBUTION} is not installed as a package (run `pip install -e .`)", err=True)
        raise typer.Exit(code=1) from None


@cli.command("settings")
def settings_command() -> None:
    """Print the effective settings as JSON, secrets masked, so a deployment can be checked safely."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=SETTINGS_ERROR_EXIT_CODE) from None
    typer.echo(json.dumps(masked_settings(settings), indent=2, sort_keys=True))


def masked_settings(settings: Settings) -> dict[str, object]:
    """Settings as JSON-ready data with secrets hidden.

    ``SecretStr`` fields are already masked by pydantic; this also hides fields whose names look secret but
    were typed as plain strings, and the password inside URLs such as ``APIBASE_DATABASE_URL``.
    """
    return {name: _mask(value, key=name) for name, value in settings.model_dump(mode="json").items()}


def _mask(value: object, *, key: str) -> object:
    if isinstance(value, dict):
        return {name: _mask(item, key=str(name)) for name, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, key=key) for item in value]
    if isinstance(value, str):
        if any(word in key.lower() for word in _SECRET_WORDS):
            return MASK
        return _mask_url_password(value)
    return value


def _mask_url_password(value: str) -> str:
    if "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    if not password:
        return value
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``apibase``); ``argv`` is for tests and embedding."""
    cli(args=list(argv) if argv is not None else None, prog_name="apibase")
