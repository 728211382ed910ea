"""VaultSecretsProvider against a real OpenBao dev server (KV v2 at ``secret/``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import hvac  # type: ignore[import-untyped]
import pytest

from apibase.application.ports.secrets import SecretNotFound, SecretsUnavailable
from apibase.infrastructure.secrets import CachedSecretsProvider
from apibase.infrastructure.secrets.vault import VaultSecretsProvider

pytestmark = pytest.mark.integration


class Server(Protocol):
    """What the conftest fixtures yield (a NamedTuple there; conftest modules are not imported by tests)."""

    @property
    def address(self) -> str: ...

    @property
    def token(self) -> str: ...


VALUE = "pw-9f1c-never-in-messages"


@pytest.fixture
def seeded(openbao: Server) -> Iterator[Server]:
    admin = hvac.Client(url=openbao.address, token=openbao.token)
    admin.secrets.kv.v2.create_or_update_secret(
        path="apps/api/db", secret={"value": VALUE, "user": "api"}, mount_point="secret"
    )
    admin.secrets.kv.v2.create_or_update_secret(path="apps/api/gone", secret={"value": "x"}, mount_point="secret")
    admin.secrets.kv.v2.delete_latest_version_of_secret(path="apps/api/gone", mount_point="secret")
    admin.sys.create_or_update_policy("nothing", 'path "sys/*" { capabilities = ["deny"] }')
    yield openbao
    admin.adapter.close()


@pytest.fixture
def provider(seeded: Server) -> Iterator[VaultSecretsProvider]:
    provider = VaultSecretsProvider.from_token(seeded.address, seeded.token, path_prefix="apps/api")
    yield provider
    provider.close()


async def test_reads_the_default_field_and_a_named_field(provider: VaultSecretsProvider) -> None:
    assert await provider.get("db") == VALUE
    assert await provider.get("db#user") == "api"


async def test_missing_secret_field_and_deleted_version_are_not_found(provider: VaultSecretsProvider) -> None:
    for name in ["nope", "db#nope", "gone"]:
        with pytest.raises(SecretNotFound):
            await provider.get(name)


async def test_a_token_without_access_is_unavailable_and_leaks_nothing(seeded: Server) -> None:
    admin = hvac.Client(url=seeded.address, token=seeded.token)
    weak = admin.auth.token.create(policies=["nothing"], ttl="5m")["auth"]["client_token"]
    admin.adapter.close()
    provider = VaultSecretsProvider.from_token(seeded.address, weak, path_prefix="apps/api")
    try:
        with pytest.raises(SecretsUnavailable, match="permission denied") as caught:
            await provider.get("db")
    finally:
        provider.close()
    assert weak not in str(caught.value)
    assert VALUE not in str(caught.value)


async def test_a_bad_token_is_unavailable(seeded: Server) -> None:
    provider = VaultSecretsProvider.from_token(seeded.address, "not-a-token", path_prefix="apps/api")
    try:
        with pytest.raises(SecretsUnavailable) as caught:
            await provider.get("db")
    finally:
        provider.close()
    assert "not-a-token" not in str(caught.value)


async def test_an_unreachable_server_is_unavailable(unused_port: int) -> None:
    provider = VaultSecretsProvider.from_token(f"http://127.0.0.1:{unused_port}", "t", timeout=2)
    try:
        with pytest.raises(SecretsUnavailable, match="cannot connect"):
            await provider.get("db")
    finally:
        provider.close()


async def test_cache_in_front_of_vault(provider: VaultSecretsProvider) -> None:
    cached = CachedSecretsProvider(provider, ttl_seconds=60)
    assert await cached.get("db") == await cached.get("db") == VALUE
