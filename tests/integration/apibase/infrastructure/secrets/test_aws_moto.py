"""AwsSecretsManagerProvider against a real moto server (dummy credentials, loopback only)."""

from __future__ import annotations

import json
from typing import Protocol

import boto3  # type: ignore[import-untyped]
import pytest

from apibase.application.ports.secrets import SecretNotFound, SecretsUnavailable
from apibase.infrastructure.secrets.aws import AwsSecretsManagerProvider

pytestmark = pytest.mark.integration

AWS_REGION = "us-east-1"  # the region the conftest gives moto and the dummy credentials


class Server(Protocol):
    """What the conftest fixtures yield (a NamedTuple there; conftest modules are not imported by tests)."""

    @property
    def address(self) -> str: ...

    @property
    def token(self) -> str: ...


VALUE = "aws-pw-31b7-never-in-messages"


@pytest.fixture(scope="module")
def seeded(moto_server: Server) -> Server:
    client = boto3.session.Session().client(
        "secretsmanager",
        region_name=AWS_REGION,
        endpoint_url=moto_server.address,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's dummy credentials
    )
    client.create_secret(Name="prod/db", SecretString=json.dumps({"password": VALUE, "port": 5432}))
    client.create_secret(Name="prod/api-key", SecretString=VALUE)
    client.create_secret(Name="prod/blob", SecretBinary=b"binary-value")
    return moto_server


@pytest.fixture
def provider(seeded: Server) -> AwsSecretsManagerProvider:
    return AwsSecretsManagerProvider.create(region_name=AWS_REGION, endpoint_url=seeded.address, prefix="prod/")


async def test_reads_strings_binaries_and_json_keys(provider: AwsSecretsManagerProvider) -> None:
    assert await provider.get("api-key") == VALUE
    assert await provider.get("blob") == "binary-value"
    assert await provider.get("db#password") == VALUE


async def test_missing_secret_is_not_found(provider: AwsSecretsManagerProvider) -> None:
    with pytest.raises(SecretNotFound, match="no such secret"):
        await provider.get("nope")


async def test_non_string_key_is_unavailable_without_the_value(provider: AwsSecretsManagerProvider) -> None:
    with pytest.raises(SecretsUnavailable) as caught:
        await provider.get("db#port")
    assert VALUE not in str(caught.value)


async def test_an_unreachable_endpoint_is_unavailable(unused_port: int) -> None:
    provider = AwsSecretsManagerProvider.create(region_name=AWS_REGION, endpoint_url=f"http://127.0.0.1:{unused_port}")
    with pytest.raises(SecretsUnavailable, match="EndpointConnectionError"):
        await provider.get("db")
