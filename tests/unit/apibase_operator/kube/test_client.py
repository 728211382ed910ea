"""KubeClient against kmock's Kubernetes emulator: real HTTP, real JSON, no cluster."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from apibase_operator.kube.client import KubeClient, KubeError, Write
from apibase_operator.kube.kinds import MANAGED_KINDS, kind_of

pytestmark = pytest.mark.unit

DEPLOYMENT = kind_of({"apiVersion": "apps/v1", "kind": "Deployment"})


def deployment(replicas: int) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop", "namespace": "prod", "labels": {"app.kubernetes.io/instance": "shop"}},
        "spec": {"replicas": replicas},
    }


@pytest.fixture
async def client(kmock: kmock.KubernetesEmulator) -> AsyncIterator[KubeClient]:
    api = ApiClient(Configuration(host=str(kmock.url).rstrip("/")))
    yield KubeClient(api)
    api.close()


async def test_apply_creates_then_updates_and_records_writes(client: KubeClient) -> None:
    await client.apply(deployment(1))
    created = await client.get(DEPLOYMENT, "prod", "shop")
    assert created is not None
    assert created["spec"] == {"replicas": 1}
    await client.apply(deployment(3))
    updated = await client.get(DEPLOYMENT, "prod", "shop")
    assert updated is not None
    assert updated["spec"] == {"replicas": 3}
    assert [write.method for write in client.writes] == ["PATCH", "POST", "PATCH"]
    assert client.writes[0].path.endswith("?fieldManager=apibase-operator&force=true")


async def test_without_server_side_apply_it_creates_or_replaces(client: KubeClient) -> None:
    client.server_side_apply = False
    await client.apply(deployment(1))
    await client.apply(deployment(2))
    assert [write.method for write in client.writes] == ["POST", "PATCH"]
    stored = await client.get(DEPLOYMENT, "prod", "shop")
    assert stored is not None
    assert stored["spec"] == {"replicas": 2}


async def test_list_by_labels_and_delete(client: KubeClient) -> None:
    await client.apply(deployment(1))
    found = await client.list(DEPLOYMENT, "prod", {"app.kubernetes.io/instance": "shop"})
    assert [item["metadata"]["name"] for item in found] == ["shop"]  # type: ignore[index]
    assert await client.delete(DEPLOYMENT, "prod", "shop")
    assert await client.get(DEPLOYMENT, "prod", "shop") is None
    assert not await client.delete(DEPLOYMENT, "prod", "shop")


async def test_list_keeps_only_objects_with_the_labels_even_if_the_server_ignores_the_selector(
    client: KubeClient,
) -> None:
    await client.apply(deployment(1))
    await client.apply({**deployment(1), "metadata": {"name": "theirs", "namespace": "prod"}})  # kmock: no selectors
    found = await client.list(DEPLOYMENT, "prod", {"app.kubernetes.io/instance": "shop"})
    assert [item["metadata"]["name"] for item in found] == ["shop"]  # type: ignore[index]


async def test_events_are_posted_and_errors_raise(client: KubeClient) -> None:
    owner = {"metadata": {"name": "shop", "namespace": "prod", "uid": "u-1"}}
    await client.event(owner, "Normal", "Applied", "Deployment shop created")
    assert client.writes[-1] == Write("POST", "/api/v1/namespaces/prod/events")
    with pytest.raises(KubeError) as refused:
        await client.patch_status("prod", "missing", {"observedGeneration": 1})
    assert refused.value.status == 404


async def test_only_the_latest_writes_are_kept_but_all_are_counted(kmock: kmock.KubernetesEmulator) -> None:
    api = ApiClient(Configuration(host=str(kmock.url).rstrip("/")))
    client = KubeClient(api, writes=deque(maxlen=2))
    for replicas in (1, 2, 3):
        await client.apply(deployment(replicas))
    api.close()
    assert client.write_count == 4  # kmock has no server-side apply: the first one is a failed PATCH and a POST
    assert [write.method for write in client.writes] == ["PATCH", "PATCH"]


@dataclass
class PagedServer(KubeClient):
    """Answers GETs with the given pages in order, recording the paths asked for."""

    pages: list[dict[str, object]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    async def _call(
        self, method: str, path: str, body: object = None, content_type: str = "application/json"
    ) -> tuple[int, dict[str, object] | None]:
        self.paths.append(path)
        return 200, self.pages.pop(0)


async def test_a_listing_is_read_in_pages_and_keeps_the_last_version() -> None:
    ours = {"labels": {"app.kubernetes.io/instance": "shop"}}
    server = PagedServer(ApiClient(Configuration(host="http://127.0.0.1:9")))
    server.pages = [
        {"metadata": {"continue": "t1"}, "items": [{"metadata": {**ours, "name": "a"}}, {"metadata": {"name": "x"}}]},
        {"metadata": {"resourceVersion": "42"}, "items": [{"metadata": {**ours, "name": "b"}}]},
    ]
    listing = await server.list_collection(DEPLOYMENT, None, {"app.kubernetes.io/instance": "shop"}, page_size=2)
    assert [item["metadata"]["name"] for item in listing.items] == ["a", "b"]  # type: ignore[index]
    assert listing.resource_version == "42"
    assert server.paths == [
        "/apis/apps/v1/deployments?labelSelector=app.kubernetes.io%2Finstance%3Dshop&limit=2",
        "/apis/apps/v1/deployments?labelSelector=app.kubernetes.io%2Finstance%3Dshop&limit=2&continue=t1",
    ]


def test_kind_paths() -> None:
    paths = {kind.kind: kind.item("ns", "x") for kind in MANAGED_KINDS}
    assert paths["Deployment"] == "/apis/apps/v1/namespaces/ns/deployments/x"
    assert paths["Service"] == "/api/v1/namespaces/ns/services/x"
    assert paths["VirtualService"] == "/apis/networking.istio.io/v1/namespaces/ns/virtualservices/x"
    assert MANAGED_KINDS[0].collection(None) == "/apis/apps/v1/deployments"  # every namespace: a cluster-wide watch
