"""VaultSecretsProvider over a fake KV v2 reader: paths, fields and error translation without leaks."""

from __future__ import annotations

import hvac.exceptions  # type: ignore[import-untyped]
import pytest
import requests

from apibase.application.ports.secrets import SecretNotFound, SecretsUnavailable
from apibase.infrastructure.secrets.vault import VaultSecretsProvider

pytestmark = pytest.mark.unit

LEAK = "s3cr3t-value-in-error-body"


class FakeKv:
    def __init__(self, answer: object = None, error: Exception | None = None) -> None:
        self.answer = answer
        self.error = error
        self.calls: list[tuple[str, str, bool]] = []

    def read_secret_version(self, *, path: str, mount_point: str, raise_on_deleted_version: bool) -> object:
        self.calls.append((path, mount_point, raise_on_deleted_version))
        if self.error is not None:
            raise self.error
        return self.answer


def kv2(data: dict[str, object] | None) -> dict[str, object]:
    return {"data": {"data": data, "metadata": {"version": 1}}}


async def test_reads_the_default_field_under_the_prefix() -> None:
    kv = FakeKv(kv2({"value": "pw"}))
    provider = VaultSecretsProvider(kv, mount="kv", path_prefix="/apps/api/")
    assert await provider.get("db") == "pw"
    assert kv.calls == [("apps/api/db", "kv", True)]


async def test_hash_selects_a_field() -> None:
    kv = FakeKv(kv2({"password": "pw", "user": "u"}))
    assert await VaultSecretsProvider(kv).get("app/db#user") == "u"
    assert kv.calls[0][:2] == ("app/db", "secret")


@pytest.mark.parametrize(
    ("data", "error"),
    [({"other": "x"}, SecretNotFound), ({"value": ""}, SecretNotFound), ({"value": 5}, SecretsUnavailable)],
)
async def test_field_problems(data: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        await VaultSecretsProvider(FakeKv(kv2(data))).get("db")


@pytest.mark.parametrize("answer", [None, {"data": None}, {"data": {"data": None}}, "text"])
async def test_answers_that_are_not_kv2_are_unavailable(answer: object) -> None:
    with pytest.raises(SecretsUnavailable, match="not a KV v2 secret"):
        await VaultSecretsProvider(FakeKv(answer)).get("db")


@pytest.mark.parametrize(
    ("error", "expected", "message"),
    [
        (hvac.exceptions.InvalidPath(LEAK), SecretNotFound, "no such secret"),
        (hvac.exceptions.Forbidden(LEAK), SecretsUnavailable, "permission denied"),
        (hvac.exceptions.Unauthorized(LEAK), SecretsUnavailable, "permission denied"),
        (hvac.exceptions.VaultDown(LEAK), SecretsUnavailable, "sealed"),
        (hvac.exceptions.InternalServerError(LEAK), SecretsUnavailable, "InternalServerError"),
        (requests.exceptions.ConnectTimeout(LEAK), SecretsUnavailable, "timed out"),
        (requests.exceptions.ConnectionError(LEAK), SecretsUnavailable, "cannot connect"),
        (requests.exceptions.TooManyRedirects(LEAK), SecretsUnavailable, "TooManyRedirects"),
    ],
)
async def test_errors_are_translated_without_their_text(
    error: Exception, expected: type[Exception], message: str
) -> None:
    with pytest.raises(expected, match=message) as caught:
        await VaultSecretsProvider(FakeKv(error=error), where="http://vault:8200").get("db")
    assert LEAK not in str(caught.value)
    assert LEAK not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("name", ["../x", "a//b", "a/../b", "db#", "db#a/b", "/db"])
async def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        await VaultSecretsProvider(FakeKv(kv2({"value": "v"}))).get(name)


def test_from_token_hides_the_token_and_closes() -> None:
    provider = VaultSecretsProvider.from_token("http://127.0.0.1:1", "root-token-xyz", mount="kv")
    assert "root-token-xyz" not in repr(provider)
    assert "http://127.0.0.1:1" in repr(provider)
    provider.close()
    VaultSecretsProvider(FakeKv()).close()  # nothing to close
