"""``apibase db``: upgrade, current, revision and downgrade per migration branch, with the service's settings.

The service here is made up (``APIBASE_SERVICE``): the kernel plus one ``notes`` module with a branch of its own.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apibase.interface.cli.db import DB_ERROR_EXIT_CODE, SETTINGS_ERROR_EXIT_CODE
from apibase.interface.cli.main import cli

pytestmark = pytest.mark.unit

NOTES_SERVICE = """
from pathlib import Path
from types import SimpleNamespace

from apibase.service import ServiceDefinition
from apibase.testing.migrations import scratch_branch

STEPS = [
    ("CREATE TABLE notes (id INTEGER PRIMARY KEY)", "DROP TABLE notes"),
    ("ALTER TABLE notes ADD COLUMN body TEXT", "ALTER TABLE notes DROP COLUMN body"),
]
NOTES = scratch_branch(Path(__file__).parent / "notes", "notes", frozenset({"notes"}), STEPS)
SERVICE = ServiceDefinition(modules=lambda: [SimpleNamespace(name="notes", migrations=NOTES, permissions={})])
"""
BASE = "base (no migration applied)"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No APIBASE_* variables or .env file from the developer's machine may leak into a test."""
    for name in list(os.environ):
        if name.startswith("APIBASE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The made-up service, under a module name of its own (each test's revisions live in its own folder)."""
    name = f"notes_service_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(NOTES_SERVICE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{name}:SERVICE"


@pytest.fixture
def env(tmp_path: Path, service: str) -> dict[str, str]:
    return {"APIBASE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", "APIBASE_SERVICE": service}


def tables(tmp_path: Path) -> set[str]:
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_db_without_a_command_shows_help(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["db"])

    for command in ("upgrade", "downgrade", "revision", "current"):
        assert command in result.output


def test_upgrade_then_current_one_line_per_branch(runner: CliRunner, env: dict[str, str]) -> None:
    before = runner.invoke(cli, ["db", "current"], env=env)
    upgraded = runner.invoke(cli, ["db", "upgrade"], env=env)
    after = runner.invoke(cli, ["db", "current"], env=env)

    assert (before.exit_code, before.stdout) == (0, f"apibase at {BASE}\nnotes at {BASE}\n")
    at_head = "apibase at apibase_0003 (head)\nnotes at notes_0002 (head)\n"
    assert (upgraded.exit_code, upgraded.stdout) == (0, at_head)
    assert (after.exit_code, after.stdout) == (0, at_head)


def test_upgrade_one_module_to_a_revision(runner: CliRunner, env: dict[str, str]) -> None:
    result = runner.invoke(cli, ["db", "upgrade", "--module", "notes", "--revision", "notes_0001"], env=env)

    assert (result.exit_code, result.stdout) == (0, f"apibase at {BASE}\nnotes at notes_0001\n")


def test_downgrade_a_module_to_base_drops_its_tables(runner: CliRunner, env: dict[str, str], tmp_path: Path) -> None:
    runner.invoke(cli, ["db", "upgrade"], env=env)

    result = runner.invoke(cli, ["db", "downgrade", "--module", "notes", "--revision", "base"], env=env)

    assert (result.exit_code, result.stdout) == (0, f"apibase at apibase_0003 (head)\nnotes at {BASE}\n")
    assert "notes" not in tables(tmp_path)
    assert "users" in tables(tmp_path)


def test_a_revision_without_its_module_or_an_unknown_module_is_a_usage_error(
    runner: CliRunner, env: dict[str, str]
) -> None:
    without = runner.invoke(cli, ["db", "upgrade", "--revision", "notes_0001"], env=env)
    unknown = runner.invoke(cli, ["db", "downgrade", "--module", "nope", "--revision", "base"], env=env)

    assert without.exit_code == unknown.exit_code == SETTINGS_ERROR_EXIT_CODE
    assert "--module" in without.stderr
    assert "no migration branch 'nope'" in unknown.stderr
    assert "(known: apibase, notes)" in unknown.stderr


def test_upgrade_to_an_unknown_revision_fails(runner: CliRunner, env: dict[str, str]) -> None:
    result = runner.invoke(cli, ["db", "upgrade", "--module", "apibase", "--revision", "9999"], env=env)

    assert result.exit_code == DB_ERROR_EXIT_CODE
    assert result.stderr.splitlines()[-1].startswith("CommandError: ")


def test_a_service_that_cannot_be_loaded_exits_2(runner: CliRunner, env: dict[str, str]) -> None:
    result = runner.invoke(cli, ["db", "current"], env={**env, "APIBASE_SERVICE": "no_such_package:SERVICE"})

    assert result.exit_code == SETTINGS_ERROR_EXIT_CODE
    assert "names no service" in result.stderr


def test_an_unreachable_database_fails_without_a_traceback_or_password(runner: CliRunner, service: str) -> None:
    # Nothing listens on port 1: the connection is refused at once, no server needed.
    env = {"APIBASE_DATABASE_URL": "postgresql+asyncpg://app:hunter2@127.0.0.1:1/app", "APIBASE_SERVICE": service}

    for arguments in (
        ["db", "current"],
        ["db", "upgrade"],
        ["db", "downgrade", "--module", "notes", "--revision", "base"],
        ["db", "revision", "--module", "notes", "-m", "x"],
    ):
        result = runner.invoke(cli, arguments, env=env)
        assert result.exit_code == DB_ERROR_EXIT_CODE
        assert result.stderr.strip()
        assert "Traceback" not in result.output
        assert "hunter2" not in result.output


def test_invalid_settings_exit_2(runner: CliRunner) -> None:
    for arguments in (["db", "current"], ["db", "upgrade"], ["db", "revision", "--module", "notes", "-m", "x"]):
        result = runner.invoke(cli, arguments, env={"APIBASE_PORT": "abc"})
        assert result.exit_code == SETTINGS_ERROR_EXIT_CODE
        assert "APIBASE_PORT" in result.stderr


def test_revision_is_numbered_within_the_module_s_branch(
    runner: CliRunner, env: dict[str, str], tmp_path: Path
) -> None:
    outdated = runner.invoke(cli, ["db", "revision", "--module", "notes", "-m", "too early"], env=env)
    manual = runner.invoke(cli, ["db", "revision", "--module", "notes", "-m", "Add tags", "--no-autogenerate"], env=env)

    assert outdated.exit_code == DB_ERROR_EXIT_CODE
    assert "not up to date" in outdated.stderr
    assert manual.exit_code == 0
    assert manual.stdout.strip().endswith("notes_0003_add_tags.py")
    assert (tmp_path / "notes" / "notes_0003_add_tags.py").is_file()
