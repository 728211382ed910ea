"""The watch caches over kmock's emulator (real list and watch requests), and the reconciler reading from them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from apibase_operator.kube.cache import WatchCache
from apibase_operator.kube.client import KubeClient
from apibase_operator.kube.kinds import MANAGED_KINDS, kind_of
from apibase_operator.metrics import OperatorMetrics
from apibase_operator.runtime import OperatorConfig, Reconciler

pytestmark = pytest.mark.unit

NS, NAME = "shop", "orders"
APIBASES = "apibase.dev/v1alpha1/apibases"
SERVICE = kind_of({"apiVersion": "v1", "kind": "Service"})
DEPLOYMENT = kind_of({"apiVersion": "apps/v1", "kind": "Deployment"})
OURS = {"app.kubernetes.io/managed-by": "apibase-operator", "app.kubernetes.io/instance": NAME}


def service(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NS, "labels": dict(OURS)},
        "spec": {"ports": [{"port": 80}]},
    }


class Changes:
    """The caches' ``on_change``: lets a test wait for watch events instead of sleeping."""

    def __init__(self) -> None:
        self.seen: list[Mapping[str, object]] = []
        self._arrived = asyncio.Event()

    def __call__(self, obj: Mapping[str, object]) -> None:
        self.seen.append(obj)
        self._arrived.set()

    async def until(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not check():
                self._arrived.clear()
                await self._arrived.wait()


@pytest.fixture
async def kube(kmock: kmock.KubernetesEmulator) -> AsyncIterator[KubeClient]:
    """kmock serving ApiBases and every owned kind, so that each watch cache can list it."""
    kmock.resources[APIBASES] = {"kind": "ApiBase", "namespaced": True, "subresources": ["status"]}
    for kind in MANAGED_KINDS:
        kmock.resources[f"{kind.api_version}/{kind.plural}"] = {"kind": kind.kind, "namespaced": True}
    api = ApiClient(Configuration(host=str(kmock.url).rstrip("/")))
    yield KubeClient(api)
    api.close()


@pytest.fixture
def changes() -> Changes:
    return Changes()


@pytest.fixture
async def cache(kube: KubeClient, changes: Changes) -> AsyncIterator[WatchCache]:
    cache = WatchCache(kube, on_change=changes)
    cache.start()
    assert await cache.wait_synced(seconds=5)
    yield cache
    await cache.stop()


async def test_the_cache_follows_the_servers_watch_stream(kube: KubeClient, changes: Changes) -> None:
    cache = WatchCache(kube, kinds=(SERVICE,), on_change=changes)
    assert cache.get(SERVICE, NS, "api") is None  # not listed yet: it cannot say
    assert cache.owned_by(SERVICE, NS, NAME) is None
    await kube.apply(service("api"))  # exists before the listing
    cache.start()
    try:
        assert await cache.wait_synced(seconds=5)
        assert cache.get(SERVICE, NS, "api") is not None
        await kube.apply(service("metrics"))  # arrives as a watch event
        await changes.until(lambda: cache.get(SERVICE, NS, "metrics") is not None)
        owned = cache.owned_by(SERVICE, NS, NAME) or []
        assert sorted(str(obj["metadata"]["name"]) for obj in owned) == ["api", "metrics"]  # type: ignore[index]
        await kube.delete(SERVICE, NS, "api")
        await changes.until(lambda: cache.get(SERVICE, NS, "api") is None)
        assert len(cache) == 1
        assert {str(obj["metadata"]["name"]) for obj in changes.seen} >= {"metrics", "api"}  # type: ignore[index]
    finally:
        await cache.stop()


async def test_a_namespaced_cache_answers_for_its_namespaces_only(kube: KubeClient) -> None:
    cache = WatchCache(kube, namespaces=(NS,), kinds=(SERVICE,))
    cache.start()
    try:
        assert await cache.wait_synced(seconds=5)
        assert cache.owned_by(SERVICE, NS, NAME) == []
        assert cache.owned_by(SERVICE, "billing", NAME) is None  # not watched here: ask the API server
    finally:
        await cache.stop()


def reconciler(kube: KubeClient, cache: WatchCache) -> Reconciler:
    return Reconciler(
        kube=kube,
        vault_reader=lambda spec, workload: pytest.fail("no Vault here"),
        hash_key=b"cache-tests-hash-key-32-bytes!!!",
        config=OperatorConfig(),
        metrics=OperatorMetrics(),
        cache=cache,
    )


async def apibase(kmock: kmock.KubernetesEmulator, kube: KubeClient) -> dict[str, object]:
    kmock.objects[APIBASES, NS, NAME] = {
        "apiVersion": "apibase.dev/v1alpha1",
        "kind": "ApiBase",
        "metadata": {"name": NAME, "namespace": NS, "uid": "uid-1", "generation": 1},
        "spec": {"image": "ghcr.io/acme/orders:1.4.2", "istio": {"enabled": True}},
    }
    body = await kube.get_apibase(NS, NAME)
    assert body is not None
    return body


def gets(kmock: kmock.KubernetesEmulator, since: int) -> list[str]:
    """Paths of the GET requests (watches aside) kmock served after the first ``since`` requests."""
    requests = list(kmock)[since:]
    return [r.url.path_qs for r in requests if r.method == "GET" and r.params.get("watch") != "true"]


def posts(kmock: kmock.KubernetesEmulator, since: int, events: bool = False) -> list[str]:
    """Paths of the POST requests kmock served after the first ``since``: the Events', or the others."""
    requests = list(kmock)[since:]
    return [r.url.path for r in requests if r.method == "POST" and r.url.path.endswith("/events") == events]


async def test_a_create_reads_nothing_from_a_listed_cache_and_a_no_change_resync_reads_nothing(
    kmock: kmock.KubernetesEmulator, kube: KubeClient, cache: WatchCache, changes: Changes
) -> None:
    body = await apibase(kmock, kube)
    operator = reconciler(kube, cache)
    before = len(list(kmock))
    assert (await operator.reconcile(body)).writes > 0
    created, reads = posts(kmock, before), gets(kmock, before)
    # A miss in a listed cache means "absent": no GET before applying. kmock has no server-side apply, so the
    # client's own fallback reads each object once (a real API server creates on apply, without that GET).
    assert len(reads) == len(set(reads)) == len(created) > 1
    assert not [path for path in reads if "labelSelector" in path]  # pruning listed from the caches
    await changes.until(lambda: len(cache) >= len(created))  # the watch events of the objects just created

    body = await kube.get_apibase(NS, NAME)
    assert body is not None
    before = len(list(kmock))
    assert (await operator.reconcile(body)).writes == 0
    assert list(kmock)[before:] == []  # no GET, no list, no write: all from the caches


async def test_a_miss_in_a_listed_cache_is_final_and_costs_at_most_a_redundant_apply(
    kmock: kmock.KubernetesEmulator, kube: KubeClient, cache: WatchCache, changes: Changes
) -> None:
    """kmock stores objects put in directly without a watch event: the cache misses it and is believed."""
    body = await apibase(kmock, kube)
    operator = reconciler(kube, cache)
    await operator.reconcile(body)
    await changes.until(lambda: cache.get(DEPLOYMENT, NS, NAME) is not None)
    del cache.informers[DEPLOYMENT][0]._objects[NS, NAME]  # as if its event were still on the way
    body = await kube.get_apibase(NS, NAME)
    assert body is not None
    before = len(list(kmock))
    assert await operator.reconcile(body) is not None
    deployment = f"/apis/apps/v1/namespaces/{NS}/deployments/{NAME}"
    patches = [r.url.path for r in list(kmock)[before:] if r.method == "PATCH"]
    assert deployment in patches  # applied again, not read first: harmless, an apply is idempotent
    assert gets(kmock, before) == []  # readiness reads the object that apply returned
    assert len(posts(kmock, before, events=True)) == 1  # one Event for the reconciliation


async def test_a_kind_not_listed_yet_is_read_from_the_api_server(
    kmock: kmock.KubernetesEmulator, kube: KubeClient
) -> None:
    """Until a kind's first listing has arrived its cache cannot say "absent": the API server is asked."""
    cache = WatchCache(kube, kinds=(SERVICE,))  # not started: never listed
    assert not cache.answers(SERVICE, NS)
    body = await apibase(kmock, kube)
    operator = reconciler(kube, cache)
    assert (await operator.reconcile(body)).writes > 0
    body = await kube.get_apibase(NS, NAME)
    assert body is not None
    before = len(list(kmock))
    assert (await operator.reconcile(body)).writes == 0  # each GET found its object up to date
    deployment = f"/apis/apps/v1/namespaces/{NS}/deployments/{NAME}"
    assert gets(kmock, before).count(deployment) == 2  # to compare, then for readiness
