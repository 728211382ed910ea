"""The operator's hash key against kmock's Kubernetes emulator: created once, the same after a restart,
a key of one's own honoured, a bad one refused with a clear message."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import kmock
import pytest
from kmock import Response
from kubernetes.client import ApiClient, Configuration, CoreV1Api

from apibase_operator.hash_key import DEFAULT_SECRET_NAME, MIN_KEY_BYTES, HashKeyError, load_hash_key
from apibase_operator.vault import hash_secret_data

pytestmark = pytest.mark.unit

NS = "apibase-system"
DATA = {"DB_PASSWORD": b"hunter2"}


@pytest.fixture
async def core(kmock: kmock.KubernetesEmulator) -> AsyncIterator[CoreV1Api]:
    kmock.resources["v1/secrets"] = {"kind": "Secret", "namespaced": True}
    api = ApiClient(Configuration(host=str(kmock.url).rstrip("/")))
    yield CoreV1Api(api)
    api.close()


async def load(core: CoreV1Api) -> bytes:
    return await asyncio.to_thread(load_hash_key, core, NS)  # kmock answers on this test's event loop


def put_key(emulator: kmock.KubernetesEmulator, data: dict[str, str]) -> None:
    emulator.objects["v1/secrets", NS, DEFAULT_SECRET_NAME] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": DEFAULT_SECRET_NAME, "namespace": NS},
        "data": data,
    }


async def test_the_first_start_creates_a_random_key_and_a_restart_reads_the_same(
    kmock: kmock.KubernetesEmulator, core: CoreV1Api
) -> None:
    first = await load(core)
    stored = kmock.objects["v1/secrets", NS, DEFAULT_SECRET_NAME]
    restarted = await load(core)

    assert len(first) == MIN_KEY_BYTES
    assert base64.b64decode(stored["data"]["key"]) == first
    assert restarted == first
    assert hash_secret_data(DATA, restarted) == hash_secret_data(DATA, first)  # no pod rolls on a restart


async def test_a_key_of_ones_own_is_used(kmock: kmock.KubernetesEmulator, core: CoreV1Api) -> None:
    own = bytes(range(48))
    put_key(kmock, {"key": base64.b64encode(own).decode()})

    assert await load(core) == own


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"other": base64.b64encode(bytes(32)).decode()}, "has no key 'key'"),
        ({"key": base64.b64encode(b"short").decode()}, "has 5 bytes; it needs at least 32"),
        ({"key": "not base64!"}, "is not base64"),
    ],
)
async def test_an_unusable_key_stops_the_start_with_a_clear_message(
    kmock: kmock.KubernetesEmulator, core: CoreV1Api, data: dict[str, str], message: str
) -> None:
    put_key(kmock, data)

    with pytest.raises(HashKeyError, match=message) as caught:
        await load(core)
    assert f"Secret {NS}/{DEFAULT_SECRET_NAME}" in str(caught.value)


@pytest.mark.parametrize(("method", "message"), [("get", "cannot read the hash key"), ("post", "cannot create")])
async def test_a_refused_request_stops_the_start(
    kmock: kmock.KubernetesEmulator, core: CoreV1Api, method: str, message: str
) -> None:
    kmock[method, f"/api/v1/namespaces/{NS}/secrets"] << Response(status=403, payload={"kind": "Status"})
    kmock[method, f"/api/v1/namespaces/{NS}/secrets/{DEFAULT_SECRET_NAME}"] << Response(status=403)

    with pytest.raises(HashKeyError, match=f"{message}.*HTTP 403"):
        await load(core)
