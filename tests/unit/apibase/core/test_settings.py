"""Settings: defaults, APIBASE_* variables (flat and nested), .env files and readable, secret-safe errors."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pytest
from pydantic import ValidationError

from apibase.core.settings import (
    DatabaseSettings,
    Environment,
    PaginationSettings,
    SecuritySettings,
    Settings,
    SettingsError,
    load_settings,
)

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No APIBASE_* variable from the outer shell and no .env file from the checkout leaks in."""
    for name in list(os.environ):
        if name.upper().startswith("APIBASE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults() -> None:
    settings = load_settings()
    assert settings.service_name == "apibase"
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.workers == 1
    assert settings.database_url == "sqlite+aiosqlite:///./apibase.db"
    assert settings.database == DatabaseSettings(
        pool_size=10, max_overflow=10, pool_timeout_seconds=30.0, pool_pre_ping=True, echo=False
    )
    assert settings.pagination == PaginationSettings(default_page_size=50, max_page_size=500)
    assert settings.security.secret_key.get_secret_value() == "dev-insecure-change-me"
    assert settings.is_production is False


def test_flat_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_SERVICE_NAME", "orders-api")
    monkeypatch.setenv("APIBASE_ENVIRONMENT", "staging")
    monkeypatch.setenv("APIBASE_HOST", "10.0.0.5")
    monkeypatch.setenv("APIBASE_PORT", "9000")
    monkeypatch.setenv("APIBASE_WORKERS", "4")
    monkeypatch.setenv("APIBASE_DATABASE_URL", "postgresql+asyncpg://db/orders")
    settings = load_settings()
    assert settings.service_name == "orders-api"
    assert settings.environment is Environment.STAGING
    assert settings.host == "10.0.0.5"
    assert settings.port == 9000
    assert settings.workers == 4
    assert settings.database_url == "postgresql+asyncpg://db/orders"


def test_nested_variables_use_a_double_underscore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_DATABASE__POOL_SIZE", "20")
    monkeypatch.setenv("APIBASE_DATABASE__ECHO", "true")
    monkeypatch.setenv("APIBASE_PAGINATION__MAX_PAGE_SIZE", "1000")
    monkeypatch.setenv("APIBASE_SECURITY__SECRET_KEY", "a-long-enough-production-secret")
    settings = load_settings()
    assert settings.database.pool_size == 20
    assert settings.database.echo is True
    assert settings.database.max_overflow == 10  # untouched members keep their defaults
    assert settings.pagination.max_page_size == 1000
    assert settings.security.secret_key.get_secret_value() == "a-long-enough-production-secret"
    # The flat APIBASE_DATABASE_URL and the nested APIBASE_DATABASE__* section do not collide.
    assert settings.database_url == "sqlite+aiosqlite:///./apibase.db"


def test_unprefixed_and_unknown_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "1")
    monkeypatch.setenv("APIBASE_NO_SUCH_SETTING", "x")
    assert load_settings().port == 8000


def test_dotenv_file_in_the_working_directory_is_read(monkeypatch: pytest.MonkeyPatch, clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("APIBASE_PORT=7000\nAPIBASE_WORKERS=3\n")
    monkeypatch.setenv("APIBASE_WORKERS", "5")
    settings = load_settings()
    assert settings.port == 7000
    assert settings.workers == 5  # the environment wins over the file


def test_keyword_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_PORT", "9000")
    assert load_settings(port=1234).port == 1234


@pytest.mark.parametrize("environment", list(Environment))
def test_is_production(monkeypatch: pytest.MonkeyPatch, environment: Environment) -> None:
    monkeypatch.setenv("APIBASE_ENVIRONMENT", environment.value)
    monkeypatch.setenv("APIBASE_SECURITY__SECRET_KEY", "a-long-enough-production-secret")
    settings = load_settings()
    assert settings.environment is environment
    assert settings.is_production is (environment is Environment.PRODUCTION)


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.database.pool_size = 1  # type: ignore[misc]


@pytest.mark.parametrize("section", [DatabaseSettings, PaginationSettings, SecuritySettings])
def test_sections_forbid_unknown_members(section: type[DatabaseSettings]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        section.model_validate({"no_such_member": 1})


def test_secret_key_never_shows_in_reprs() -> None:
    settings = load_settings(security={"secret_key": "a-long-enough-production-secret"})
    assert "a-long-enough-production-secret" not in repr(settings)
    assert "a-long-enough-production-secret" not in str(settings.security)


# ---------------------------------------------------------------------------------------- errors


def test_error_names_the_variable_and_shows_the_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_PORT", "not-a-port")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith("invalid configuration (1 problem(s)):")
    assert "APIBASE_PORT:" in message
    assert "(got 'not-a-port')" in message
    assert "set APIBASE_PORT to fix it" in message


def test_out_of_range_value_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_PORT", "70000")
    with pytest.raises(SettingsError, match="APIBASE_PORT: Input should be less than or equal to 65535"):
        load_settings()


def test_nested_error_names_the_nested_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_DATABASE__POOL_SIZE", "0")
    with pytest.raises(SettingsError, match=r"APIBASE_DATABASE__POOL_SIZE: .*\(got '0'\)"):
        load_settings()


def test_misspelt_nested_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_DATABASE__POOL_SIZ", "5")
    with pytest.raises(SettingsError, match="APIBASE_DATABASE__POOL_SIZ: Extra inputs are not permitted"):
        load_settings()


def test_every_problem_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_PORT", "x")
    monkeypatch.setenv("APIBASE_SERVICE_NAME", "Not Valid!")
    monkeypatch.setenv("APIBASE_ENVIRONMENT", "prod")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("invalid configuration (3 problem(s)):")
    for variable in ("APIBASE_PORT", "APIBASE_SERVICE_NAME", "APIBASE_ENVIRONMENT"):
        assert f"set {variable} to fix it" in message


def test_secret_value_never_appears_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "hunter2-Xq9"  # too short: the minimum is 16 characters
    monkeypatch.setenv("APIBASE_SECURITY__SECRET_KEY", secret)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "APIBASE_SECURITY__SECRET_KEY" in message
    assert "(got <hidden>)" in message
    assert secret not in message
    assert secret not in repr(info.value)
    # The pydantic error (which does contain the value) is not chained into the printed traceback.
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ is True
    assert secret not in "".join(traceback.format_exception(info.value))


def test_secret_value_hidden_when_passed_as_an_override() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(security={"secret_key": "short-secret"})
    assert "short-secret" not in str(info.value)
    assert "APIBASE_SECURITY__SECRET_KEY" in str(info.value)


def test_settings_class_itself_raises_pydantics_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_WORKERS", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_production_refuses_the_development_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_ENVIRONMENT", "production")
    with pytest.raises(SettingsError, match="APIBASE_SECURITY__SECRET_KEY") as refused:
        load_settings()
    assert "dev-insecure" not in str(refused.value)


def test_pool_sizes_are_set_in_the_pools_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_POOLS__REDIS_MAX_CONNECTIONS", "7")
    monkeypatch.setenv("APIBASE_POOLS__HTTP_MAX_CONNECTIONS", "12")
    monkeypatch.setenv("APIBASE_DATABASE__POOL_SIZE", "4")  # the database pool keeps its section and names

    settings = load_settings()

    assert (settings.pools.redis_max_connections, settings.pools.http_max_connections) == (7, 12)
    assert settings.database.pool_size == 4


def test_a_pool_of_no_connections_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_POOLS__REDIS_MAX_CONNECTIONS", "0")
    with pytest.raises(SettingsError, match=r"APIBASE_POOLS__REDIS_MAX_CONNECTIONS: .*greater than or equal to 1"):
        load_settings()


def test_more_idle_http_connections_than_the_limit_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_POOLS__HTTP_MAX_CONNECTIONS", "5")
    monkeypatch.setenv("APIBASE_POOLS__HTTP_MAX_KEEPALIVE_CONNECTIONS", "6")
    with pytest.raises(SettingsError, match="lower APIBASE_POOLS__HTTP_MAX_KEEPALIVE_CONNECTIONS or raise") as error:
        load_settings()
    assert "APIBASE_POOLS: Value error, http_max_keepalive_connections cannot exceed" in str(error.value)
