"""Settings from ``APIBASE_*`` environment variables (and ``.env``), validated once at start-up.

The flat variables people set most (``APIBASE_PORT``, ``APIBASE_DATABASE_URL``) live at the top level; the rest
sit in nested sections set with a double underscore, e.g. ``APIBASE_DATABASE__POOL_SIZE=20``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DatabaseSettings",
    "Environment",
    "PaginationSettings",
    "SecuritySettings",
    "Settings",
    "SettingsError",
    "load_settings",
]

ENV_PREFIX = "APIBASE_"
NESTED_DELIMITER = "__"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabaseSettings(_Section):
    """Connection-pool tuning; the URL itself is the top-level ``APIBASE_DATABASE_URL``."""

    pool_size: int = Field(default=10, ge=1, le=500)
    max_overflow: int = Field(default=10, ge=0, le=500)
    pool_timeout_seconds: float = Field(default=30.0, gt=0)
    pool_pre_ping: bool = True
    echo: bool = False


class PaginationSettings(_Section):
    default_page_size: int = Field(default=50, ge=1, le=1000)
    max_page_size: int = Field(default=500, ge=1, le=10_000)


class SecuritySettings(_Section):
    """Secrets are ``SecretStr``: they never show in reprs, logs or error messages."""

    secret_key: SecretStr = Field(
        default=SecretStr("dev-insecure-change-me"),
        min_length=16,
        description="Signs cursors and other tamper-evident values; set a long random value in production",
    )


class Settings(BaseSettings):
    """All service settings; build with :func:`load_settings` to get readable errors."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    service_name: str = Field(default="apibase", min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    environment: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    shutdown_grace_seconds: int = Field(default=20, ge=1, le=600)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=1_073_741_824)
    compression_minimum_bytes: int = Field(default=500, ge=0)
    auto_migrate: bool | None = Field(default=None, description="Migrate at start-up; default: only on SQLite")
    database_url: str = Field(default="sqlite+aiosqlite:///./apibase.db", min_length=1)
    database: DatabaseSettings = DatabaseSettings()
    pagination: PaginationSettings = PaginationSettings()
    security: SecuritySettings = SecuritySettings()

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION


class SettingsError(ValueError):
    """Settings failed validation; the message names each variable and how to fix it."""


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's error into one that names the environment variables."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [f"invalid configuration ({exc.error_count()} problem(s)):"]
        for error in exc.errors():
            variable = ENV_PREFIX + NESTED_DELIMITER.join(str(part) for part in error["loc"]).upper()
            shown = "<hidden>" if _looks_secret(variable) else repr(error.get("input"))
            lines.append(f"  {variable}: {error['msg']} (got {shown}); set {variable} to fix it")
        raise SettingsError("\n".join(lines)) from None


def _looks_secret(variable: str) -> bool:
    return any(word in variable for word in ("SECRET", "PASSWORD", "TOKEN", "KEY"))
