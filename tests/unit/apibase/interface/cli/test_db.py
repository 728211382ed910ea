"""``apibase db``: upgrade, current and revision with the service's settings, failing with clear exit codes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apibase.infrastructure.persistence import migrate
from apibase.interface.cli.db import DB_ERROR_EXIT_CODE, SETTINGS_ERROR_EXIT_CODE
from apibase.interface.cli.main import cli

pytestmark = pytest.mark.unit


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
def env(tmp_path: Path) -> dict[str, str]:
    return {"APIBASE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}


def test_db_without_a_command_shows_help(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["db"])

    assert "upgrade" in result.output
    assert "revision" in result.output
    assert "current" in result.output


def test_upgrade_then_current(runner: CliRunner, env: dict[str, str]) -> None:
    before = runner.invoke(cli, ["db", "current"], env=env)
    upgraded = runner.invoke(cli, ["db", "upgrade"], env=env)
    after = runner.invoke(cli, ["db", "current"], env=env)

    assert (before.exit_code, before.stdout) == (0, "base (no migration applied)\n")
    assert (upgraded.exit_code, upgraded.stdout) == (0, "database at 0007 (head)\n")
    assert (after.exit_code, after.stdout) == (0, "0007 (head)\n")


def test_upgrade_to_an_unknown_revision_fails(runner: CliRunner, env: dict[str, str]) -> None:
    result = runner.invoke(cli, ["db", "upgrade", "--revision", "9999"], env=env)

    assert result.exit_code == DB_ERROR_EXIT_CODE
    assert result.stderr.splitlines()[-1].startswith("CommandError: ")


def test_an_unreachable_database_fails_without_a_traceback_or_password(runner: CliRunner) -> None:
    # Nothing listens on port 1: the connection is refused at once, no server needed.
    env = {"APIBASE_DATABASE_URL": "postgresql+asyncpg://app:hunter2@127.0.0.1:1/app"}

    for arguments in (["db", "current"], ["db", "upgrade"], ["db", "revision", "-m", "x"]):
        result = runner.invoke(cli, arguments, env=env)
        assert result.exit_code == DB_ERROR_EXIT_CODE
        assert result.stderr.strip()
        assert "Traceback" not in result.output
        assert "hunter2" not in result.output


def test_invalid_settings_exit_2(runner: CliRunner) -> None:
    for arguments in (["db", "current"], ["db", "upgrade"], ["db", "revision", "-m", "x"]):
        result = runner.invoke(cli, arguments, env={"APIBASE_PORT": "abc"})
        assert result.exit_code == SETTINGS_ERROR_EXIT_CODE
        assert "APIBASE_PORT" in result.stderr


def test_revision(runner: CliRunner, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", scripts)

    outdated = runner.invoke(cli, ["db", "revision", "-m", "too early"], env=env)
    manual = runner.invoke(cli, ["db", "revision", "-m", "Add notes", "--no-autogenerate"], env=env)

    assert outdated.exit_code == DB_ERROR_EXIT_CODE
    assert "not up to date" in outdated.stderr
    assert manual.exit_code == 0
    assert manual.stdout.strip().endswith("0008_add_notes.py")
    assert (scripts / "versions" / "0008_add_notes.py").is_file()
