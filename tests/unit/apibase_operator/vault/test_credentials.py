"""The workload's credentials against kmock's Kubernetes emulator: where the token Secret is read, what a
TokenRequest asks for, and how each refusal reads (a VaultTokenMissing naming the object, never a token)."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator

import kmock
import pytest
from kmock import Response
from kubernetes.client import ApiClient, Configuration, CoreV1Api

from apibase_operator.crd.models import SecretKeyRef
from apibase_operator.vault import KubernetesCredentials, VaultTokenMissing, Workload
from apibase_operator.vault.credentials import TOKEN_EXPIRATION_SECONDS

pytestmark = pytest.mark.unit

REF = SecretKeyRef(name="vault-token", key="token")
TOKEN = "hvs.token-of-team-shop"
JWT = "eyJhbGciOiJFUzI1NiJ9.workload-token.sig"
TOKEN_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/serviceaccounts/([^/]+)/token$")


@pytest.fixture
async def core(kmock: kmock.KubernetesEmulator) -> AsyncIterator[CoreV1Api]:
    kmock.resources["v1/secrets"] = {"kind": "Secret", "namespaced": True}
    api = ApiClient(Configuration(host=str(kmock.url).rstrip("/")))
    yield CoreV1Api(api)
    api.close()


def put_secret(emulator: kmock.KubernetesEmulator, namespace: str, data: dict[str, str]) -> None:
    emulator.objects["v1/secrets", namespace, REF.name] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": REF.name, "namespace": namespace},
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }


async def vault_token(core: CoreV1Api, namespace: str = "shop") -> str:
    credentials = KubernetesCredentials(core, Workload(namespace, "orders"))
    return await asyncio.to_thread(credentials.vault_token, REF)  # kmock answers on this test's event loop


async def test_the_token_secret_is_read_in_the_apibase_namespace(kmock: kmock.KubernetesEmulator, core) -> None:
    put_secret(kmock, "shop", {"token": TOKEN})
    put_secret(kmock, "apibase-system", {"token": "hvs.operator-namespace-token"})

    assert await vault_token(core) == TOKEN


async def test_a_token_secret_missing_from_the_apibase_namespace_is_a_missing_token(
    kmock: kmock.KubernetesEmulator, core
) -> None:
    put_secret(kmock, "apibase-system", {"token": TOKEN})  # where the operator used to read it

    with pytest.raises(VaultTokenMissing) as caught:
        await vault_token(core)

    assert caught.value.reason == "cannot read Secret shop/vault-token for the Vault token: not found"
    assert caught.value.__cause__ is None


async def test_a_token_secret_without_the_key_is_a_missing_token(kmock: kmock.KubernetesEmulator, core) -> None:
    put_secret(kmock, "shop", {"other": TOKEN})

    with pytest.raises(VaultTokenMissing, match="Secret shop/vault-token has no key 'token'") as caught:
        await vault_token(core)
    assert TOKEN not in str(caught.value)


async def test_a_token_that_is_not_text_is_a_missing_token(kmock: kmock.KubernetesEmulator, core) -> None:
    kmock.objects["v1/secrets", "shop", REF.name] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": REF.name, "namespace": "shop"},
        "data": {"token": base64.b64encode(b"\xff\xfe").decode()},
    }

    with pytest.raises(VaultTokenMissing, match="is not UTF-8 text"):
        await vault_token(core)


async def test_an_unreachable_api_server_is_a_missing_token(unused_tcp_port: int) -> None:
    api = ApiClient(Configuration(host=f"http://127.0.0.1:{unused_tcp_port}"))
    api.configuration.retries = 0
    try:
        credentials = KubernetesCredentials(CoreV1Api(api), Workload("shop", "orders"))
        with pytest.raises(VaultTokenMissing, match="the API server cannot be reached"):
            await asyncio.to_thread(credentials.vault_token, REF)
    finally:
        api.close()


async def test_a_token_is_requested_for_the_workload_account_with_the_audience(
    kmock: kmock.KubernetesEmulator, core
) -> None:
    requests: list[tuple[str, str, object]] = []

    def issue(request: kmock.Request) -> dict[str, object]:
        namespace, account = TOKEN_PATH.fullmatch(request.url.path).groups()  # type: ignore[union-attr]
        requests.append((namespace, account, request.data))
        return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "status": {"token": JWT}}

    kmock["post", TOKEN_PATH] << issue
    credentials = KubernetesCredentials(core, Workload("shop", "orders"), audience="vault-prod")

    assert await asyncio.to_thread(credentials.service_account_jwt) == JWT

    assert len(requests) == 1
    namespace, account, body = requests[0]
    assert (namespace, account) == ("shop", "orders")
    assert body["spec"] == {"audiences": ["vault-prod"], "expirationSeconds": TOKEN_EXPIRATION_SECONDS}  # type: ignore[index]


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (404, "not found"),
        (403, r"the operator is not allowed to \(HTTP 403\), check its RBAC"),
        (500, "the API server answered HTTP 500"),
    ],
)
async def test_a_refused_token_request_is_a_missing_token(
    kmock: kmock.KubernetesEmulator, core, status: int, why: str
) -> None:
    kmock["post", TOKEN_PATH] << Response(status=status, payload={"kind": "Status", "message": "secret text"})
    credentials = KubernetesCredentials(core, Workload("shop", "orders"))

    with pytest.raises(VaultTokenMissing, match=f"cannot request a token for ServiceAccount shop/orders: {why}") as e:
        await asyncio.to_thread(credentials.service_account_jwt)
    assert "secret text" not in str(e.value)


async def test_an_answer_without_a_token_is_a_missing_token(kmock: kmock.KubernetesEmulator, core) -> None:
    kmock["post", TOKEN_PATH] << {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "status": None}
    credentials = KubernetesCredentials(core, Workload("shop", "orders"))

    with pytest.raises(VaultTokenMissing, match="returned no token for ServiceAccount shop/orders"):
        await asyncio.to_thread(credentials.service_account_jwt)
