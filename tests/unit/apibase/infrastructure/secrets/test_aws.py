"""AwsSecretsManagerProvider over a fake client: strings, binaries, JSON fields and error translation."""

from __future__ import annotations

import json

import botocore.exceptions  # type: ignore[import-untyped]
import pytest

from apibase.application.ports.secrets import SecretNotFound, SecretsUnavailable
from apibase.infrastructure.secrets.aws import AwsSecretsManagerProvider

pytestmark = pytest.mark.unit

LEAK = "s3cr3t-in-message"


class FakeClient:
    def __init__(self, answer: object = None, error: Exception | None = None) -> None:
        self.answer = answer
        self.error = error
        self.ids: list[str] = []

    def get_secret_value(self, *, SecretId: str) -> object:  # noqa: N803 - boto3's keyword
        self.ids.append(SecretId)
        if self.error is not None:
            raise self.error
        return self.answer


def client_error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": LEAK}}, "GetSecretValue")


async def test_string_secret_with_prefix() -> None:
    client = FakeClient({"SecretString": "pw"})
    assert await AwsSecretsManagerProvider(client, prefix="prod/").get("db") == "pw"
    assert client.ids == ["prod/db"]


async def test_binary_secret_is_decoded() -> None:
    assert await AwsSecretsManagerProvider(FakeClient({"SecretBinary": b"bin"})).get("db") == "bin"


async def test_json_field() -> None:
    client = FakeClient({"SecretString": json.dumps({"password": "pw", "port": 5432})})
    provider = AwsSecretsManagerProvider(client)
    assert await provider.get("app/db#password") == "pw"
    with pytest.raises(SecretNotFound, match="no key 'user'"):
        await provider.get("app/db#user")
    with pytest.raises(SecretsUnavailable, match="not a string"):
        await provider.get("app/db#port")


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
async def test_field_of_a_non_object_is_unavailable(text: str) -> None:
    with pytest.raises(SecretsUnavailable, match="not a JSON object") as caught:
        await AwsSecretsManagerProvider(FakeClient({"SecretString": text})).get("db#k")
    assert text not in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "expected", "message"),
    [
        ({"SecretString": ""}, SecretNotFound, "is empty"),
        ({"SecretBinary": b"\xff"}, SecretsUnavailable, "not UTF-8"),
        ({"Name": "db"}, SecretsUnavailable, "no secret string"),
        ("weird", SecretsUnavailable, "unexpected answer"),
    ],
)
async def test_odd_answers(answer: object, expected: type[Exception], message: str) -> None:
    with pytest.raises(expected, match=message):
        await AwsSecretsManagerProvider(FakeClient(answer)).get("db")


@pytest.mark.parametrize(
    ("error", "expected", "message"),
    [
        (client_error("ResourceNotFoundException"), SecretNotFound, "no such secret"),
        (client_error("AccessDeniedException"), SecretsUnavailable, "AccessDeniedException"),
        (client_error("DecryptionFailure"), SecretsUnavailable, "DecryptionFailure"),
        (botocore.exceptions.EndpointConnectionError(endpoint_url=LEAK), SecretsUnavailable, "EndpointConnection"),
        (botocore.exceptions.NoCredentialsError(), SecretsUnavailable, "NoCredentialsError"),
    ],
)
async def test_errors_are_translated_without_their_text(
    error: Exception, expected: type[Exception], message: str
) -> None:
    with pytest.raises(expected, match=message) as caught:
        await AwsSecretsManagerProvider(FakeClient(error=error)).get("db")
    assert LEAK not in str(caught.value)
    assert caught.value.__cause__ is None


def test_create_builds_a_client_and_hides_credentials() -> None:
    provider = AwsSecretsManagerProvider.create(
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="very-secret-key",
    )
    assert "very-secret-key" not in repr(provider)
    assert "http://127.0.0.1:1" in repr(provider)
    assert "secretsmanager.eu-west-1" in repr(AwsSecretsManagerProvider.create(region_name="eu-west-1"))
