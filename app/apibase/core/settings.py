"""Settings from ``APIBASE_*`` environment variables (and ``.env``), validated once at start-up.

The flat variables people set most (``APIBASE_PORT``, ``APIBASE_DATABASE_URL``) live at the top level; the rest
sit in nested sections set with a double underscore, e.g. ``APIBASE_DATABASE__POOL_SIZE=20``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "AuthSettings",
    "CorsSettings",
    "DaprSettings",
    "DatabaseSettings",
    "EncryptionSettings",
    "Environment",
    "EventsSettings",
    "HeadersSettings",
    "IdempotencySettings",
    "ObservabilitySettings",
    "PaginationSettings",
    "PoolSettings",
    "RateLimitSection",
    "SecretsSettings",
    "SecuritySettings",
    "ServerKind",
    "Settings",
    "SettingsError",
    "SigningSettings",
    "TenancySettings",
    "TlsSettings",
    "load_settings",
]

ENV_PREFIX = "APIBASE_"
NESTED_DELIMITER = "__"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class ServerKind(StrEnum):
    """The HTTP server ``apibase serve`` runs (``APIBASE_SERVER``); granian and hypercorn are optional extras."""

    UVICORN = "uvicorn"
    GRANIAN = "granian"
    HYPERCORN = "hypercorn"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabaseSettings(_Section):
    """Connection-pool tuning; the URL itself is the top-level ``APIBASE_DATABASE_URL``."""

    pool_size: int = Field(default=10, ge=1, le=500)
    max_overflow: int = Field(default=10, ge=0, le=500)
    pool_timeout_seconds: float = Field(default=30.0, gt=0)
    pool_pre_ping: bool = True
    echo: bool = False


class PoolSettings(_Section):
    """How many connections each shared client keeps to Redis and to HTTP services (JWKS, log shipping, outbound
    calls); one client per process, so these bound the whole process. The database pool is sized in
    ``DatabaseSettings`` (``APIBASE_DATABASE__POOL_SIZE``); broker clients keep one connection each."""

    redis_max_connections: int = Field(default=20, ge=1, le=10_000, description="Connections to Redis at most")
    redis_wait_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How long a Redis command waits for a free connection before failing"
    )
    http_max_connections: int = Field(default=50, ge=1, le=10_000, description="HTTP connections open at most")
    http_max_keepalive_connections: int = Field(default=10, ge=0, le=10_000, description="Idle ones kept for reuse")
    http_keepalive_seconds: float = Field(default=5.0, gt=0, le=3600, description="An idle connection's lifetime")
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Connect, read, write and pool wait")

    @model_validator(mode="after")
    def _keepalive_within_limit(self) -> PoolSettings:
        if self.http_max_keepalive_connections > self.http_max_connections:
            raise ValueError(
                "http_max_keepalive_connections cannot exceed http_max_connections (idle connections are kept "
                "within the limit): lower APIBASE_POOLS__HTTP_MAX_KEEPALIVE_CONNECTIONS or raise "
                "APIBASE_POOLS__HTTP_MAX_CONNECTIONS"
            )
        return self


class PaginationSettings(_Section):
    default_page_size: int = Field(default=50, ge=1, le=1000)
    max_page_size: int = Field(default=500, ge=1, le=10_000)


DEVELOPMENT_SECRET_KEY = "dev-insecure-change-me"  # noqa: S105 - public on purpose; refused in production


class SecuritySettings(_Section):
    """Secrets are ``SecretStr``: they never show in reprs, logs or error messages."""

    secret_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET_KEY),
        min_length=16,
        description="Signs cursors and other tamper-evident values; set a long random value in production",
    )


class AuthSettings(_Section):
    """Tokens this service issues (asymmetric, EdDSA by default) and the login protections around them."""

    issuer: str = Field(default="apibase", min_length=1)
    audience: str = Field(default="apibase", min_length=1)
    algorithm: Literal["EdDSA", "RS256"] = "EdDSA"
    signing_key_file: Path | None = Field(
        default=None,
        description="PEM private key that signs tokens; unset: a key generated at start-up (refused in production)",
    )
    previous_key_files: tuple[Path, ...] = Field(
        default=(), description="Retired public or private PEM keys still accepted for verification (rotation)"
    )
    access_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_ttl_seconds: int = Field(default=1_209_600, ge=300, le=31_536_000)
    password_time_cost: int = Field(default=3, ge=1, le=20, description="Argon2id passes; raise it over time")
    password_memory_kib: int = Field(default=65_536, ge=1024, le=4_194_304, description="Argon2id memory per hash")
    max_failed_logins: int = Field(default=5, ge=1, le=100)
    lockout_seconds: int = Field(default=900, ge=1, le=86_400)
    api_key_grace_seconds: int = Field(default=86_400, ge=0, le=2_592_000)
    external_jwks_url: str | None = Field(default=None, description="Also accept tokens of this issuer's JWKS")
    external_issuer: str | None = None
    external_audience: str | None = None

    @model_validator(mode="after")
    def _external_issuer_is_complete(self) -> AuthSettings:
        parts = (self.external_jwks_url, self.external_issuer, self.external_audience)
        if any(parts) and not all(parts):
            raise ValueError("external_jwks_url, external_issuer and external_audience go together")
        return self


class RateLimitSection(_Section):
    """Request budgets in ``limits`` notation; counted in Redis when ``APIBASE_REDIS_URL`` is set."""

    enabled: bool = True
    client_limit: str | None = "600/minute"
    user_limit: str | None = "1200/minute"
    login_limit: str = Field(default="10/minute", description="Per client on the login and register routes")
    route_limits: dict[str, str] = Field(default_factory=dict)
    strategy: Literal["fixed-window", "moving-window"] = Field(
        default="fixed-window",
        description="fixed-window: one counter per window, O(1); moving-window: exact, costs a timestamp per hit",
    )
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)


class CorsSettings(_Section):
    allowed_origins: tuple[str, ...] = ()
    allow_credentials: bool = False


class HeadersSettings(_Section):
    hsts_max_age: int | None = Field(default=63_072_000, ge=0)
    hsts_force: bool = Field(default=False, description="Send HSTS over plain HTTP (TLS ends at a proxy)")
    content_security_policy: str | None = None


class TenancySettings(_Section):
    header: str = Field(default="X-Tenant-ID", pattern=r"^[A-Za-z][A-Za-z0-9-]*$")
    default_tenant: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")


class IdempotencySettings(_Section):
    enabled: bool = True
    ttl_seconds: int = Field(default=86_400, ge=60, le=2_592_000)
    backend: Literal["auto", "database", "redis", "dapr"] = Field(
        default="auto",
        description="auto: Redis when APIBASE_REDIS_URL is set, else the database; dapr: the sidecar's state store",
    )


class SigningSettings(_Section):
    """Service-to-service request signing: HMAC keys by key id, accepted on ``path_prefixes``."""

    keys: dict[str, SecretStr] = Field(default_factory=dict)
    max_skew_seconds: int = Field(default=300, ge=1, le=3600)
    path_prefixes: tuple[str, ...] = ("/internal/",)


class TlsSettings(_Section):
    """Serve TLS directly; with ``ca_file`` and ``require_client_cert`` it is mutual TLS."""

    cert_file: Path | None = None
    key_file: Path | None = None
    ca_file: Path | None = None
    require_client_cert: bool = False

    @model_validator(mode="after")
    def _complete(self) -> TlsSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.require_client_cert and (self.ca_file is None or self.cert_file is None):
            raise ValueError("require_client_cert needs cert_file, key_file and ca_file")
        return self


class SecretsSettings(_Section):
    """Where secrets come from: the environment/files (default), HashiCorp Vault, AWS Secrets Manager or the Dapr
    sidecar's secret store (``DaprSettings.secret_store``)."""

    provider: Literal["env", "vault", "aws", "dapr"] = "env"
    directory: Path | None = Field(default=None, description="env provider: also read files from here")
    vault_url: str | None = None
    vault_token: SecretStr | None = None
    vault_mount: str = "secret"
    vault_path: str = "apibase"
    aws_region: str | None = None
    aws_endpoint_url: str | None = None
    aws_prefix: str = "apibase/"


class EventsSettings(_Section):
    """Domain events leave through the transactional outbox; a relay hands them to the chosen publisher."""

    publisher: Literal["in-process", "dapr", "kafka", "rabbitmq"] = Field(
        default="in-process",
        description="in-process: no broker, the service's own subscriptions still run (`make run`); dapr: the "
        "sidecar's pubsub component (the Kubernetes default); kafka; rabbitmq",
    )
    topic: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Where this service's events are published; default `<service_name>.events`",
    )
    relay_enabled: bool = Field(default=True, description="Run the outbox relay in this process")
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=1.0, gt=0, le=300, description="Idle poll; commits wake it at once")
    max_attempts: int = Field(default=10, ge=1, le=1000, description="Tries before an event is dead-lettered")
    backoff_base_seconds: float = Field(default=0.5, gt=0, le=3600)
    backoff_max_seconds: float = Field(default=300.0, gt=0, le=86_400)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_transactional: bool = Field(default=True, description="Publish each relay batch in one Kafka transaction")
    kafka_consumer_group: str | None = Field(default=None, description="Default: the service name")
    rabbitmq_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    rabbitmq_exchange: str | None = Field(default=None, description="Topic exchange; default: the events topic")
    rabbitmq_queue: str | None = Field(default=None, description="This service's queue; default: `<service_name>`")


class DaprSettings(_Section):
    """The sidecar and the component names the operator created (it sets these from the ApiBase's components)."""

    pubsub: str = Field(default="pubsub", min_length=1, description="The pubsub component events go through")
    state_store: str = Field(default="statestore", min_length=1)
    secret_store: str = Field(default="secretstore", min_length=1)
    grpc_endpoint: str | None = Field(
        default=None, description="daprd's gRPC API; default: the SDK's (DAPR_GRPC_ENDPOINT or 127.0.0.1:50001)"
    )
    http_endpoint: str | None = Field(
        default=None, description="daprd's HTTP API; default: the SDK's (DAPR_HTTP_ENDPOINT or 127.0.0.1:3500)"
    )
    app_api_token: SecretStr | None = Field(
        default=None, description="The `dapr-api-token` daprd sends to the app (APP_API_TOKEN); checked when set"
    )
    api_token: SecretStr | None = Field(default=None, description="The token the app sends to daprd (DAPR_API_TOKEN)")


class EncryptionSettings(_Section):
    """Field-level encryption keys (base64 AES-256) by key id; new writes use ``primary``."""

    keys: dict[str, SecretStr] = Field(default_factory=dict)
    primary: str | None = None


class ObservabilitySettings(_Section):
    """Traces (OpenTelemetry), metrics (Prometheus), log shipping (OpenSearch ``_bulk``) and PII masking."""

    service_version: str = "0.1.0"
    resource_attributes: dict[str, str] = Field(default_factory=dict, description="Extra OTel resource attributes")
    tracing_enabled: bool = True
    otlp_endpoint: str | None = Field(default=None, description="OTLP/HTTP collector, e.g. http://otel:4318")
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0, description="Root sampling; parents decide")
    metrics_enabled: bool = True
    metrics_path: str = Field(default="/metrics", pattern=r"^/[a-z0-9/_-]*$")
    log_shipping_url: str | None = Field(default=None, description="OpenSearch/Elasticsearch base URL")
    log_shipping_index: str = Field(default="apibase-logs", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    log_shipping_batch_size: int = Field(default=500, ge=1, le=10_000)
    log_shipping_flush_seconds: float = Field(default=2.0, gt=0, le=300)
    log_shipping_buffer: int = Field(default=10_000, ge=10, le=1_000_000)
    masked_fields: tuple[str, ...] = Field(
        default=("password", "secret", "token", "authorization", "api_key", "cookie", "card_number"),
        description="Log fields whose values are always masked (matched case-insensitively as substrings)",
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
    service: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$",
        description="The service definition to run (`package.module:NAME`); by default the one installed under "
        "the `apibase.services` entry point, or the kernel alone",
    )
    environment: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    server: ServerKind = Field(
        default=ServerKind.UVICORN,
        description="uvicorn (HTTP/1.1); granian (speed; HTTP/2, also h2c), `apibase[granian]`; hypercorn (HTTP/2, "
        "h2c and HTTP/3), `apibase[http3]`",
    )
    http3_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="UDP port for HTTP/3 over QUIC (hypercorn with TLS), advertised in `Alt-Svc`; default: none",
    )
    shutdown_grace_seconds: int = Field(default=20, ge=1, le=600)
    gc_freeze: bool = Field(
        default=True,
        description="Each serving process freezes the heap it started with and collects young objects every 7,000 "
        "allocations (docs/performance.md): without it a full collection walks the whole application and stalls "
        "every request in flight",
    )
    worker_healthcheck_timeout_seconds: int = Field(
        default=30,
        ge=5,
        le=600,
        description="How long a worker may stay silent before `--workers N` replaces it: a new worker imports the "
        "whole service first, which takes longer than uvicorn's 5 s on a small CPU share",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=1_073_741_824)
    compression_minimum_bytes: int = Field(default=500, ge=0)
    auto_migrate: bool | None = Field(default=None, description="Migrate at start-up; default: only on SQLite")
    database_url: str = Field(default="sqlite+aiosqlite:///./apibase.db", min_length=1)
    database: DatabaseSettings = DatabaseSettings()
    pools: PoolSettings = PoolSettings()
    pagination: PaginationSettings = PaginationSettings()
    security: SecuritySettings = SecuritySettings()
    request_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool | None = Field(default=None, description="JSON log lines; default: only in production")
    redis_url: str | None = Field(default=None, pattern=r"^rediss?://")
    uploads_dir: Path = Field(default=Path("./uploads"), description="Where uploaded files are stored")
    max_upload_bytes: int = Field(default=1_048_576, ge=1024, le=1_073_741_824)
    auth: AuthSettings = AuthSettings()
    rate_limit: RateLimitSection = RateLimitSection()
    cors: CorsSettings = CorsSettings()
    headers: HeadersSettings = HeadersSettings()
    tenancy: TenancySettings = TenancySettings()
    idempotency: IdempotencySettings = IdempotencySettings()
    signing: SigningSettings = SigningSettings()
    tls: TlsSettings = TlsSettings()
    secrets: SecretsSettings = SecretsSettings()
    encryption: EncryptionSettings = EncryptionSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    events: EventsSettings = EventsSettings()
    dapr: DaprSettings = DaprSettings()

    @property
    def events_topic(self) -> str:
        """The topic this service publishes its events to."""
        return self.events.topic or f"{self.service_name}.events"

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @model_validator(mode="after")
    def _production_has_its_own_secret(self) -> Settings:
        """The development secret key is public (it is in this file): production must never sign with it."""
        if self.is_production and self.security.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY:
            raise ValueError("production needs its own APIBASE_SECURITY__SECRET_KEY (a long random value)")
        return self


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
