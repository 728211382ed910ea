"""``apibase events dlq``: the outbox's dead letters, listed and replayed with the service's settings.

A dead letter is an event the relay gave up on after ``max_attempts`` (see ``docs/events.md``): fix the cause
(the broker's permissions, a subscriber that refused the payload), then replay it; the running relay sends it on
its next poll.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from apibase.core.settings import Settings, SettingsError, load_settings
from apibase.infrastructure.events.dead_letters import DeadLetter, DeadLetters
from apibase.infrastructure.persistence.database import create_engine, create_session_factory

__all__ = ["DB_ERROR_EXIT_CODE", "SETTINGS_ERROR_EXIT_CODE", "events_cli"]

SETTINGS_ERROR_EXIT_CODE = 2
#: The database is unreachable (or the event tables are missing: run ``apibase db upgrade``).
DB_ERROR_EXIT_CODE = 1

events_cli = typer.Typer(name="events", help="Domain events: the outbox's dead letters.", no_args_is_help=True)
dlq_cli = typer.Typer(name="dlq", help="Events the relay gave up on.", no_args_is_help=True)
events_cli.add_typer(dlq_cli, name="dlq")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=SETTINGS_ERROR_EXIT_CODE) from None


def _with_dead_letters[T](work: Callable[[DeadLetters], Awaitable[T]]) -> T:
    settings = _settings()

    async def run() -> T:
        engine = create_engine(settings)
        try:
            return await work(DeadLetters(create_session_factory(engine)))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        # One line naming the failure; never the URL, which may hold a password.
        typer.echo(f"{type(exc).__name__}: {str(exc).strip().partition(chr(10))[0]}", err=True)
        raise typer.Exit(code=DB_ERROR_EXIT_CODE) from None


def _as_json(letter: DeadLetter) -> dict[str, object]:
    return {
        "event_id": letter.event_id,
        "event_type": letter.event_type,
        "aggregate_id": letter.aggregate_id,
        "tenant_id": letter.tenant_id,
        "attempts": letter.attempts,
        "last_error": letter.last_error,
        "created_at": letter.created_at.isoformat(),
        "dead_lettered_at": letter.dead_lettered_at.isoformat(),
    }


@dlq_cli.command("list")
def list_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="At most this many, oldest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Show the dead letters: id, type, aggregate, attempts, when, and the last error."""
    letters = _with_dead_letters(lambda dead_letters: dead_letters.entries(limit=limit))
    for letter in letters:
        if as_json:
            typer.echo(json.dumps(_as_json(letter), sort_keys=True))
        else:
            error = (letter.last_error or "").partition("\n")[0]
            typer.echo(
                f"{letter.event_id}  {letter.event_type}  aggregate={letter.aggregate_id}  "
                f"attempts={letter.attempts}  at={letter.dead_lettered_at.isoformat()}  {error}"
            )
    if not as_json:
        typer.echo(f"{len(letters)} dead letter(s)", err=True)


@dlq_cli.command("replay")
def replay_command(
    event_ids: Annotated[list[str] | None, typer.Argument(help="The ids of the events to send again.")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Put dead letters back in the outbox (attempts reset); the relay sends them on its next round."""
    if replay_all == bool(event_ids):
        raise typer.BadParameter("name the events to replay, or pass --all (not both)")
    chosen = None if replay_all else list(event_ids or [])
    replayed = _with_dead_letters(lambda dead_letters: dead_letters.replay(chosen))
    for event_id in replayed:
        typer.echo(event_id)
    unknown = sorted(set(chosen or ()) - set(replayed))
    if unknown:
        typer.echo(f"no dead letter with id(s): {', '.join(unknown)}", err=True)
    typer.echo(f"replayed {len(replayed)} event(s)", err=True)
    if unknown:
        raise typer.Exit(code=1)
