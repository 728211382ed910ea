"""Readiness checks every configured dependency against real servers: the secrets backend (OpenBao, moto), the log
sink (osmem-server) and an external issuer's JWKS (a running reference service publishes one). Each reports its
status, latency and whether it is vital; with all of them down the service stays ready, degraded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import boto3  # type: ignore[import-untyped]
import httpx
import hvac  # type: ignore[import-untyped]
import pytest
from pydantic import SecretStr

from apibase.core.settings import ObservabilitySettings, SecretsSettings, Settings
from apibase.infrastructure.security.key_material import SIGNING_KEY_SECRET
from apibase.testing.service import FAST_AUTH, service_settings

pytestmark = pytest.mark.integration

AWS_REGION = "us-east-1"  # the region tests/integration/conftest.py gives moto and the dummy credentials
DEGRADING = ("secrets", "log_sink", "external_jwks")


class Server(Protocol):
    """What the conftest's ``openbao``, ``moto_server`` and ``opensearch`` fixtures yield."""

    @property
    def address(self) -> str: ...

    @property
    def token(self) -> str: ...


class ReferenceServer(Protocol):
    """The ``reference_server`` fixture's value (tests/integration/shop/conftest.py)."""

    @property
    def base(self) -> str: ...


class Running(Protocol):
    @property
    def http(self) -> httpx.AsyncClient: ...


class Launcher(Protocol):
    async def __call__(self, settings: Settings, *, client_ip: str = ...) -> Running: ...


@pytest.fixture
def vault_with_key(openbao: Server, signing_pem: str) -> Iterator[SecretsSettings]:
    """The signing key in OpenBao where the Vault provider reads it, so start-up loads it from there."""
    path = f"it-ready-{uuid.uuid4().hex[:12]}"
    admin = hvac.Client(url=openbao.address, token=openbao.token)
    secret_path = f"{path}/{SIGNING_KEY_SECRET}"
    admin.secrets.kv.v2.create_or_update_secret(path=secret_path, secret={"value": signing_pem}, mount_point="secret")
    try:
        yield SecretsSettings(
            provider="vault",
            vault_url=openbao.address,
            vault_token=SecretStr(openbao.token),
            vault_mount="secret",
            vault_path=path,
        )
    finally:
        admin.secrets.kv.v2.delete_metadata_and_all_versions(path=secret_path, mount_point="secret")
        admin.adapter.close()


def settings_for(
    tmp_path: Path,
    *,
    secrets: SecretsSettings,
    log_sink: str,
    jwks: str,
    signing_pem: str | None = None,
) -> Settings:
    """A service with every optional dependency configured; ``signing_pem`` puts the key in a file instead."""
    auth: dict[str, object] = {
        "external_jwks_url": jwks,
        "external_issuer": "https://idp.example",
        "external_audience": "apibase",
    }
    if signing_pem is not None:
        key_file = tmp_path / "signing.pem"
        key_file.write_text(signing_pem)
        auth["signing_key_file"] = key_file
    observability = ObservabilitySettings(log_shipping_url=log_sink, log_shipping_index=f"ready-{uuid.uuid4().hex}")
    return service_settings(
        tmp_path / "service.db",
        secrets=secrets,
        observability=observability,
        auth=FAST_AUTH.model_copy(update=auth),
    )


async def readiness(launch: Launcher, settings: Settings) -> tuple[int, dict[str, object]]:
    running = await launch(settings)
    response = await running.http.get("/health/ready")
    body: dict[str, object] = response.json()
    return response.status_code, body


def assert_checked(body: dict[str, object], status: str) -> dict[str, dict[str, object]]:
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert set(checks) >= {"database", "background", *DEGRADING}
    for name in DEGRADING:
        assert checks[name]["vital"] is False, name
        assert isinstance(checks[name]["latency_ms"], float)
        assert (checks[name]["status"] == "ok") is (status == "ok"), (name, checks[name])
    assert checks["database"]["vital"] is True
    assert checks["database"]["status"] == "ok"
    return checks


async def test_with_vault_the_log_sink_and_the_jwks_up_the_service_is_ready(
    launch: Launcher,
    tmp_path: Path,
    vault_with_key: SecretsSettings,
    opensearch: Server,
    reference_server: ReferenceServer,
) -> None:
    jwks = f"{reference_server.base}/.well-known/jwks.json"
    settings = settings_for(tmp_path, secrets=vault_with_key, log_sink=opensearch.address, jwks=jwks)
    status, body = await readiness(launch, settings)
    assert (status, body["status"]) == (200, "ok"), body
    assert_checked(body, "ok")


async def test_with_every_degrading_dependency_down_the_service_is_ready_but_degraded(
    launch: Launcher, tmp_path: Path, unused_port: int, signing_pem: str
) -> None:
    nowhere = f"http://127.0.0.1:{unused_port}"
    vault = SecretsSettings(provider="vault", vault_url=nowhere, vault_token=SecretStr("s.nothing"))
    settings = settings_for(
        tmp_path, secrets=vault, log_sink=nowhere, jwks=f"{nowhere}/jwks.json", signing_pem=signing_pem
    )
    status, body = await readiness(launch, settings)
    assert (status, body["status"]) == (200, "degraded"), body
    checks = assert_checked(body, "failed")
    assert checks["secrets"]["error"] == "SecretsUnavailable"
    assert checks["log_sink"]["error"] == "ConnectError"
    assert checks["external_jwks"]["error"] == "JwksUnavailable"


async def test_aws_secrets_manager_is_checked_up_and_down(
    launch: Launcher, tmp_path: Path, moto_server: Server, unused_port: int, signing_pem: str, opensearch: Server
) -> None:
    prefix = f"apibase-ready-{uuid.uuid4().hex[:8]}/"
    boto3.client("secretsmanager", region_name=AWS_REGION, endpoint_url=moto_server.address).create_secret(
        Name=f"{prefix}{SIGNING_KEY_SECRET}", SecretString=signing_pem
    )
    nowhere = f"http://127.0.0.1:{unused_port}"
    for endpoint, expected in ((moto_server.address, "ok"), (nowhere, "failed")):
        secrets = SecretsSettings(provider="aws", aws_region=AWS_REGION, aws_endpoint_url=endpoint, aws_prefix=prefix)
        (tmp_path / expected).mkdir()
        settings = settings_for(
            tmp_path / expected, secrets=secrets, log_sink=opensearch.address, jwks=nowhere, signing_pem=signing_pem
        )
        status, body = await readiness(launch, settings)
        assert (status, body["status"]) == (200, "degraded"), body  # the JWKS is down in both
        checks = body["checks"]
        assert isinstance(checks, dict)
        assert checks["secrets"]["vital"] is False
        assert (checks["secrets"]["status"] == "ok") is (expected == "ok"), checks["secrets"]
        assert checks["log_sink"]["status"] == "ok"
