"""Where the token signing key comes from, through the composition root: Vault (OpenBao), AWS Secrets Manager
(moto), and nothing at all in production (refused at start-up).

Each test stores a fresh Ed25519 key under names of its own, starts real service instances on it (``create_app``
and its lifespan) and checks the key end to end: the JWKS publishes it, tokens verify with it, and a second
instance with the same settings accepts the first one's tokens (what running replicas behind a load balancer
needs). An instance with a key of its own refuses them, so the acceptance is the shared key's doing.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import boto3  # type: ignore[import-untyped]
import httpx
import hvac  # type: ignore[import-untyped]
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import SecretStr

from apibase.application.ports.secrets import SecretNotFound
from apibase.core.settings import EncryptionSettings, SecretsSettings, SecuritySettings, Settings
from apibase.infrastructure.security.key_material import SIGNING_KEY_SECRET
from apibase.testing.service import ADMIN_EMAIL, service_settings, sign_up
from shop.main import create_app

pytestmark = pytest.mark.integration

AWS_REGION = "us-east-1"  # the region tests/integration/conftest.py gives moto and the dummy credentials
JWKS = "/.well-known/jwks.json"
ME = "/api/v2/auth/me"


class Server(Protocol):
    """What the conftest's ``openbao`` and ``moto_server`` fixtures yield."""

    @property
    def address(self) -> str: ...

    @property
    def token(self) -> str: ...


class Running(Protocol):
    """What the package conftest's ``launch`` returns."""

    @property
    def http(self) -> httpx.AsyncClient: ...


class Launcher(Protocol):
    async def __call__(self, settings: Settings, *, client_ip: str = ...) -> Running: ...


def _x(key: ed25519.Ed25519PrivateKey) -> str:
    """The JWK ``x`` member of the key's public half (RFC 8037: base64url of the raw key, unpadded)."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


async def _signs_with_the_stored_key(
    launch: Launcher, settings: Settings, key: ed25519.Ed25519PrivateKey, tmp_path: Path
) -> None:
    first = await launch(settings)
    assert [jwk["x"] for jwk in (await first.http.get(JWKS)).json()["keys"]] == [_x(key)]

    admin = await sign_up(first.http)
    token = admin["Authorization"].removeprefix("Bearer ")
    auth = settings.auth
    claims = jwt.decode(token, key.public_key(), algorithms=["EdDSA"], audience=auth.audience, issuer=auth.issuer)
    assert claims["tid"] == "default"
    me = await first.http.get(ME, headers=admin)
    assert me.status_code == 200, me.text
    assert me.json()["data"]["email"] == ADMIN_EMAIL

    second = await launch(settings)
    assert [jwk["x"] for jwk in (await second.http.get(JWKS)).json()["keys"]] == [_x(key)]
    again = await second.http.get(ME, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json()["data"]["email"] == ADMIN_EMAIL

    stranger = await launch(service_settings(tmp_path / "stranger.db"))
    refused = await stranger.http.get(ME, headers=admin)
    assert (refused.status_code, refused.json()["code"]) == (401, "auth.token_unknown_key")


# -- Vault (OpenBao) ------------------------------------------------------------------------------------------------
@pytest.fixture
def vault_secrets(openbao: Server, signing_pem: str) -> Iterator[SecretsSettings]:
    """The key at ``secret/<path>/auth-signing-key`` (field ``value``), the layout the Vault provider reads."""
    path = f"it-service-{uuid.uuid4().hex[:12]}"
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


async def test_the_signing_key_comes_from_vault_and_is_shared_by_instances(
    launch: Launcher, tmp_path: Path, vault_secrets: SecretsSettings, signing_key: ed25519.Ed25519PrivateKey
) -> None:
    settings = service_settings(tmp_path / "service.db", secrets=vault_secrets)
    await _signs_with_the_stored_key(launch, settings, signing_key, tmp_path)


# -- AWS Secrets Manager (moto) -------------------------------------------------------------------------------------
@pytest.fixture
def aws_secrets(moto_server: Server, signing_pem: str) -> Iterator[SecretsSettings]:
    """The key as secret ``<prefix>auth-signing-key``, the name the AWS provider reads."""
    prefix = f"it-service-{uuid.uuid4().hex[:12]}/"
    client = boto3.session.Session().client("secretsmanager", region_name=AWS_REGION, endpoint_url=moto_server.address)
    client.create_secret(Name=prefix + SIGNING_KEY_SECRET, SecretString=signing_pem)
    try:
        yield SecretsSettings(
            provider="aws", aws_region=AWS_REGION, aws_endpoint_url=moto_server.address, aws_prefix=prefix
        )
    finally:
        client.delete_secret(SecretId=prefix + SIGNING_KEY_SECRET, ForceDeleteWithoutRecovery=True)
        client.close()


async def test_the_signing_key_comes_from_aws_secrets_manager_and_is_shared_by_instances(
    launch: Launcher, tmp_path: Path, aws_secrets: SecretsSettings, signing_key: ed25519.Ed25519PrivateKey
) -> None:
    settings = service_settings(tmp_path / "service.db", secrets=aws_secrets)
    await _signs_with_the_stored_key(launch, settings, signing_key, tmp_path)


# -- production -----------------------------------------------------------------------------------------------------
def _production(tmp_path: Path) -> Settings:
    return service_settings(
        tmp_path / "service.db",
        environment="production",
        security=SecuritySettings(secret_key=SecretStr("an-integration-test-secret-key")),
        encryption=EncryptionSettings(keys={"k1": SecretStr(base64.b64encode(os.urandom(32)).decode())}, primary="k1"),
        log_json=False,
    )


async def test_production_refuses_to_start_without_a_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APIBASE_SECRET_AUTH_SIGNING_KEY", raising=False)
    app = create_app(_production(tmp_path))
    with pytest.raises(SecretNotFound, match="APIBASE_SECRET_AUTH_SIGNING_KEY"):
        async with app.router.lifespan_context(app):
            pytest.fail("the service started without a signing key")
    assert app.state.runtime.started is False
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        assert (await http.get("/health/startup")).status_code == 503
        assert (await http.get("/health/ready")).status_code == 503


async def test_production_starts_with_a_signing_key_in_the_environment(
    launch: Launcher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signing_pem: str,
    signing_key: ed25519.Ed25519PrivateKey,
) -> None:
    monkeypatch.setenv("APIBASE_SECRET_AUTH_SIGNING_KEY", signing_pem)
    running = await launch(_production(tmp_path))
    assert [jwk["x"] for jwk in (await running.http.get(JWKS)).json()["keys"]] == [_x(signing_key)]
