"""DaprSecretsProvider through the SDK and the stand-in sidecar; chosen by the factory with ``provider: dapr``."""

import pytest
from redis.asyncio import Redis

from apibase.application.ports.secrets import SecretNotFound, SecretsUnavailable
from apibase.core.settings import SecretsSettings
from apibase.infrastructure.dapr.client import DaprSidecar
from apibase.infrastructure.secrets.dapr import DaprSecretsProvider
from apibase.infrastructure.secrets.factory import build_secrets_provider
from apibase.testing.dapr_sidecar import DaprStandIn

pytestmark = pytest.mark.integration


@pytest.fixture
def provider(sidecar: DaprSidecar) -> DaprSecretsProvider:
    return DaprSecretsProvider(sidecar, "secretstore")


async def test_reads_a_field_of_a_secret(provider: DaprSecretsProvider) -> None:
    assert await provider.get("db#password") == "s3cret-value"
    assert await provider.get("db#user") == "shop"


async def test_without_a_field_a_single_value_secret_is_read(redis: Redis) -> None:
    async with DaprStandIn(redis, secrets={"api-key": {"api-key": "k-1"}, "token": {"value": "t-1"}}) as other:
        provider = DaprSecretsProvider(DaprSidecar(other.settings), "secretstore")
        try:
            assert await provider.get("api-key") == "k-1"
            assert await provider.get("token") == "t-1"
        finally:
            await provider.close()


async def test_a_missing_secret_or_field_is_not_found_and_names_no_value(provider: DaprSecretsProvider) -> None:
    with pytest.raises(SecretNotFound, match="no such secret"):
        await provider.get("nope")
    with pytest.raises(SecretNotFound) as caught:
        await provider.get("db#port")
    assert "s3cret-value" not in str(caught.value)
    with pytest.raises(SecretNotFound):
        await provider.get("db")  # two fields, none named after the secret


async def test_an_unknown_store_or_an_absent_sidecar_is_unavailable(
    sidecar: DaprSidecar, absent_sidecar: DaprSidecar
) -> None:
    with pytest.raises(SecretsUnavailable, match="INVALID_ARGUMENT"):
        await DaprSecretsProvider(sidecar, "vault").get("db#password")
    with pytest.raises(SecretsUnavailable, match="does not answer"):
        await DaprSecretsProvider(absent_sidecar, "secretstore").get("db#password")


async def test_a_name_that_could_escape_is_refused(provider: DaprSecretsProvider) -> None:
    with pytest.raises(ValueError, match="invalid secret name"):
        await provider.get("../db")


async def test_the_factory_builds_the_dapr_provider_from_settings(stand_in: DaprStandIn) -> None:
    provider = build_secrets_provider(SecretsSettings(provider="dapr"), stand_in.settings)
    assert await provider.get("db#password") == "s3cret-value"
