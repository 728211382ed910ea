"""``apibase events dlq list|replay`` on a SQLite database holding two dead letters."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apibase.core.settings import Settings
from apibase.domain.events import DomainEvent
from apibase.infrastructure.events.outbox import SqlOutbox
from apibase.infrastructure.events.relay import OutboxRelay, RelayPolicy
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.sql_unit_of_work import sql_unit_of_work_factory
from apibase.interface.cli.events import DB_ERROR_EXIT_CODE
from apibase.interface.cli.main import cli
from apibase.testing.outbox import ScriptedSink, create_event_tables

pytestmark = pytest.mark.unit


class PaymentFailed(DomainEvent):
    pass


async def bury_two(url: str) -> list[str]:
    """Two events the broker refuses once, with one attempt allowed: both end up dead letters."""
    engine = create_engine(Settings(database_url=url))
    try:
        await create_event_tables(engine)
        sessions = create_session_factory(engine)
        events = [PaymentFailed(aggregate_id="pay-1"), PaymentFailed(aggregate_id="pay-2")]
        unit = sql_unit_of_work_factory(sessions)()
        async with unit:
            await SqlOutbox(source="/payments", topic="payments.events").store(unit, events)
            await unit.commit()
        sink = ScriptedSink()
        sink.down = True
        await OutboxRelay(sessions, sink, policy=RelayPolicy(max_attempts=1)).run_once()
        return [str(event.event_id) for event in events]
    finally:
        await engine.dispose()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in list(os.environ):
        if name.startswith("APIBASE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"
    monkeypatch.setenv("APIBASE_DATABASE_URL", url)
    return url


@pytest.fixture
def dead(database: str) -> list[str]:
    return asyncio.run(bury_two(database))


def test_list_shows_each_dead_letter_with_its_last_error(dead: list[str]) -> None:
    listed = CliRunner().invoke(cli, ["events", "dlq", "list"])

    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == dead
    assert "PaymentFailed  aggregate=pay-1  attempts=1" in lines[0]
    assert lines[0].endswith("ConnectionError: the broker refused the batch")
    assert "2 dead letter(s)" in listed.stderr


def test_list_as_json(dead: list[str]) -> None:
    listed = CliRunner().invoke(cli, ["events", "dlq", "list", "--json", "--limit", "1"])

    assert listed.exit_code == 0, listed.output
    (line,) = listed.stdout.splitlines()
    document = json.loads(line)
    assert (document["event_id"], document["event_type"], document["attempts"]) == (dead[0], "PaymentFailed", 1)


def test_replay_named_events_then_all(dead: list[str]) -> None:
    runner = CliRunner()
    replayed = runner.invoke(cli, ["events", "dlq", "replay", dead[1]])
    assert replayed.exit_code == 0, replayed.output
    assert replayed.stdout.splitlines() == [dead[1]]

    rest = runner.invoke(cli, ["events", "dlq", "replay", "--all"])
    assert rest.stdout.splitlines() == [dead[0]]
    assert runner.invoke(cli, ["events", "dlq", "list"]).stdout == ""


def test_replaying_an_unknown_id_says_so_and_fails(dead: list[str]) -> None:
    replayed = CliRunner().invoke(cli, ["events", "dlq", "replay", dead[0], "no-such-event"])

    assert replayed.exit_code == 1
    assert replayed.stdout.splitlines() == [dead[0]]
    assert "no dead letter with id(s): no-such-event" in replayed.stderr


@pytest.mark.parametrize("arguments", [[], ["--all", "some-id"]])
def test_replay_needs_ids_or_all_but_not_both(database: str, arguments: list[str]) -> None:
    refused = CliRunner().invoke(cli, ["events", "dlq", "replay", *arguments])

    assert refused.exit_code == 2
    assert "name the events to replay, or pass --all" in refused.output


def test_a_database_without_the_tables_is_one_line_and_status_1(database: str) -> None:
    listed = CliRunner().invoke(cli, ["events", "dlq", "list"])

    assert listed.exit_code == DB_ERROR_EXIT_CODE
    assert listed.stderr.startswith("OperationalError: ")
    assert database not in listed.stderr
