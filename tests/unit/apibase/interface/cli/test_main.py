from __future__ import annotations

import json
import os
from importlib import metadata
from importlib.metadata import PackageNotFoundError
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from apibase.core.settings import load_settings
from apibase.interface.cli import main as cli_main
from apibase.interface.cli.main import MASK, _mask, cli, main, masked_settings

pytestmark = pytest.mark.unit

SECRET = "s3cr3t-value-that-is-long-enough"


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


def test_version_prints_the_installed_package_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["version"])

    assert result.exit_code == 0
    assert result.stdout.strip() == metadata.version("apibase")
    assert result.stdout.strip() == "0.1.0"


def test_version_without_an_installed_package_fails_clearly(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(cli_main, "version", not_installed)

    result = runner.invoke(cli, ["version"])

    assert result.exit_code == 1
    assert "not installed" in result.stderr


def test_settings_prints_the_effective_settings_as_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["settings"], env={"APIBASE_PORT": "9000", "APIBASE_DATABASE__POOL_SIZE": "20"})

    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed["port"] == 9000
    assert printed["database"]["pool_size"] == 20
    assert printed["service_name"] == "apibase"
    assert printed["security"]["secret_key"] == MASK


def test_settings_never_print_a_secret(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        ["settings"],
        env={
            "APIBASE_SECURITY__SECRET_KEY": SECRET,
            "APIBASE_DATABASE_URL": "postgresql+asyncpg://app:hunter2@db.internal:5432/app",
        },
    )

    assert result.exit_code == 0
    assert SECRET not in result.output
    assert "hunter2" not in result.output
    assert json.loads(result.stdout)["database_url"] == f"postgresql+asyncpg://app:{MASK}@db.internal:5432/app"


def test_settings_are_read_from_the_dotenv_file_too(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"APIBASE_SECURITY__SECRET_KEY={SECRET}\nAPIBASE_WORKERS=3\n")

    result = runner.invoke(cli, ["settings"])

    assert result.exit_code == 0
    assert json.loads(result.stdout)["workers"] == 3
    assert SECRET not in result.output


def test_invalid_settings_exit_2_naming_the_variable(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["settings"], env={"APIBASE_PORT": "abc"})

    assert result.exit_code == 2
    assert "APIBASE_PORT" in result.stderr
    assert result.stdout == ""


def test_an_invalid_secret_is_reported_without_its_value(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["settings"], env={"APIBASE_SECURITY__SECRET_KEY": "short-secret"})

    assert result.exit_code == 2
    assert "APIBASE_SECURITY__SECRET_KEY" in result.stderr
    assert "short-secret" not in result.output


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--help"])

    assert result.exit_code == 0
    assert "version" in result.stdout
    assert "settings" in result.stdout


def test_no_arguments_shows_help(runner: CliRunner) -> None:
    result = runner.invoke(cli, [])

    assert "Usage" in result.output
    assert "settings" in result.output


def test_sub_apps_can_be_mounted(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "registered_groups", list(cli.registered_groups))
    db = typer.Typer(help="Database tools.")

    @db.command()
    def ping() -> None:
        typer.echo("pong")

    cli.add_typer(db, name="db")

    assert runner.invoke(cli, ["db", "ping"]).stdout == "pong\n"
    assert "db" in runner.invoke(cli, ["--help"]).stdout
    assert runner.invoke(cli, ["version"]).exit_code == 0


def test_main_runs_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["version"])

    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == "0.1.0"


def test_main_reads_sys_argv(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.argv", ["apibase", "settings"])
    monkeypatch.setenv("APIBASE_PORT", "abc")

    with pytest.raises(SystemExit) as exit_info:
        main()

    assert exit_info.value.code == 2
    assert "APIBASE_PORT" in capsys.readouterr().err


def test_masked_settings_hide_secret_looking_plain_strings() -> None:
    settings = load_settings(database_url="postgresql://app:pw@db/app", service_name="tokens-api")

    masked = masked_settings(settings)

    assert masked["database_url"] == f"postgresql://app:{MASK}@db/app"
    assert masked["service_name"] == "tokens-api"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("api_token", "plain", MASK),
        ("REDIS_PASSWORD", "plain", MASK),
        ("url", "sqlite+aiosqlite:///./apibase.db", "sqlite+aiosqlite:///./apibase.db"),
        ("url", "postgresql://app@db/app", "postgresql://app@db/app"),
        ("url", "redis://:pw@[::1]:6379/0", f"redis://:{MASK}@[::1]:6379/0"),
        ("url", "http://[::1", "http://[::1"),
        ("name", "no url here", "no url here"),
        ("urls", ["amqp://u:pw@mq/", "amqp://mq/"], [f"amqp://u:{MASK}@mq/", "amqp://mq/"]),
        ("nested", {"signing_key": "k", "size": 3}, {"signing_key": MASK, "size": 3}),
        ("port", 5432, 5432),
    ],
)
def test_mask(key: str, value: object, expected: object) -> None:
    assert _mask(value, key=key) == expected
