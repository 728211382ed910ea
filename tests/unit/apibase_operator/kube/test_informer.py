"""The watch cache of one kind, fed by scripted listings and watch events: what it keeps, and whom it tells."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field

import pytest
from kubernetes.client import ApiClient, Configuration

from apibase_operator.kube.client import KubeClient, Listing
from apibase_operator.kube.informer import Informer
from apibase_operator.kube.kinds import Kind, kind_of
from apibase_operator.kube.stream import StreamError

pytestmark = pytest.mark.unit

SERVICE = kind_of({"apiVersion": "v1", "kind": "Service"})
OURS = {"app.kubernetes.io/managed-by": "apibase-operator"}


def service(name: str, version: str, owner: str = "orders", **labels: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "resourceVersion": version,
            "labels": {**OURS, "app.kubernetes.io/instance": owner, **labels},
            "managedFields": [{"manager": "apibase-operator"}],
        },
    }


@dataclass
class ScriptedClient(KubeClient):
    """Listings and watch streams played back in order; a stream ends when its events run out."""

    listings: list[Listing | StreamError] = field(default_factory=list)
    streams: list[list[dict[str, object]] | StreamError] = field(default_factory=list)
    watched_from: list[str | None] = field(default_factory=list)

    async def list_collection(
        self, kind: Kind, namespace: str | None, selector: Mapping[str, str], page_size: int = 500
    ) -> Listing:
        listing = self.listings.pop(0)
        if isinstance(listing, StreamError):
            raise listing
        return listing

    async def watch(
        self, kind: Kind, namespace: str | None, selector: Mapping[str, str], resource_version: str | None, seconds: int
    ) -> AsyncGenerator[dict[str, object]]:
        self.watched_from.append(resource_version)
        if not self.streams:
            await asyncio.Event().wait()  # a quiet stream: the test ends it
        stream = self.streams.pop(0)
        if isinstance(stream, StreamError):
            raise stream
        for event in stream:
            yield event


def informer(client: KubeClient, changed: list[Mapping[str, object]]) -> Informer:
    return Informer(client, SERVICE, None, OURS, on_change=changed.append, retry_seconds=0, unserved_retry_seconds=0)


@pytest.fixture
def client() -> ScriptedClient:
    return ScriptedClient(ApiClient(Configuration(host="http://127.0.0.1:9")))


async def run_until(cache: Informer, done: asyncio.Event | None = None) -> None:
    """Run the informer until the script is played (its client waits on a quiet stream), then cancel it."""
    task = asyncio.create_task(cache.run())
    for _ in range(100):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def names(cache: Informer, owner: str = "orders") -> list[str]:
    return sorted(str(obj["metadata"]["name"]) for obj in cache.owned_by("shop", owner))  # type: ignore[index]


async def test_watch_events_add_modify_and_delete_what_is_cached(client: ScriptedClient) -> None:
    changed: list[Mapping[str, object]] = []
    client.listings = [Listing([service("api", "1")], "10")]
    client.streams = [
        [
            {"type": "ADDED", "object": service("metrics", "11")},
            {"type": "MODIFIED", "object": service("api", "12")},
            {"type": "DELETED", "object": service("metrics", "13")},
        ]
    ]
    cache = informer(client, changed)
    await run_until(cache)
    assert cache.synced
    assert client.watched_from[0] == "10"  # the watch continues from the listing
    api = cache.get("shop", "api")
    assert api is not None
    assert api["metadata"]["resourceVersion"] == "12"  # type: ignore[index]
    assert "managedFields" not in api["metadata"]  # type: ignore[operator]
    other = Informer(client, SERVICE, None, OURS)
    other.handle(json.loads(json.dumps({"type": "ADDED", "object": service("grpc", "14")})))  # fresh key strings
    grpc = other.get("shop", "grpc")
    assert grpc is not None
    assert all(key is sys.intern(key) for key in grpc["metadata"])  # type: ignore[attr-defined]  # one copy each
    assert cache.get("shop", "metrics") is None
    assert names(cache) == ["api"]
    assert [c["metadata"]["resourceVersion"] for c in changed] == ["11", "12", "13"]  # type: ignore[index]
    assert cache.resource_version == "13"
    assert client.watched_from[1] == "13"  # the next stream goes on from the last event


async def test_a_bookmark_moves_the_version_and_tells_nobody(client: ScriptedClient) -> None:
    changed: list[Mapping[str, object]] = []
    client.listings = [Listing([], "10")]
    client.streams = [[{"type": "BOOKMARK", "object": {"kind": "Service", "metadata": {"resourceVersion": "42"}}}]]
    cache = informer(client, changed)
    await run_until(cache)
    assert (cache.resource_version, changed, len(cache)) == ("42", [], 0)
    assert client.watched_from == ["10", "42"]


async def test_410_gone_relists_and_reports_what_changed_meanwhile(client: ScriptedClient) -> None:
    changed: list[Mapping[str, object]] = []
    client.listings = [
        Listing([service("api", "1"), service("metrics", "2"), service("admin", "3")], "10"),
        Listing([service("api", "1"), service("metrics", "20"), service("grpc", "21")], "30"),
    ]
    gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}
    client.streams = [[gone]]
    cache = informer(client, changed)
    await run_until(cache)
    assert names(cache) == ["api", "grpc", "metrics"]
    assert sorted(str(c["metadata"]["name"]) for c in changed) == ["admin", "grpc", "metrics"]  # type: ignore[index]
    assert client.watched_from == ["10", "30"]


async def test_a_410_answer_to_the_watch_request_relists_too(client: ScriptedClient) -> None:
    client.listings = [Listing([service("api", "1")], "10"), Listing([], "30")]
    client.streams = [StreamError(410, "/api/v1/services", "too old")]
    cache = informer(client, [])
    await run_until(cache)
    assert (len(cache), client.watched_from) == (0, ["10", "30"])


async def test_a_lost_connection_continues_from_the_last_version(client: ScriptedClient) -> None:
    client.listings = [Listing([], "10")]
    client.streams = [[{"type": "ADDED", "object": service("api", "11")}], StreamError(500, "/", "boom")]
    cache = informer(client, [])
    await run_until(cache)
    assert client.watched_from == ["10", "11", "11"]  # no relisting for an error that is not 410
    assert len(cache) == 1


async def test_an_object_that_loses_our_labels_leaves_the_cache(client: ScriptedClient) -> None:
    client.listings = [Listing([service("api", "1")], "10")]
    theirs = service("api", "11")
    theirs["metadata"]["labels"] = {"app.kubernetes.io/instance": "orders"}  # type: ignore[index]
    client.streams = [[{"type": "MODIFIED", "object": theirs}]]
    cache = informer(client, [])
    await run_until(cache)
    assert (cache.get("shop", "api"), names(cache)) == (None, [])


async def test_an_object_handed_to_another_owner_moves_in_the_index(client: ScriptedClient) -> None:
    client.listings = [Listing([service("api", "1")], "10")]
    client.streams = [[{"type": "MODIFIED", "object": service("api", "11", owner="billing")}]]
    cache = informer(client, [])
    await run_until(cache)
    assert (names(cache), names(cache, "billing")) == ([], ["api"])


async def test_a_kind_the_server_does_not_serve_is_an_empty_cache_listed_again(client: ScriptedClient) -> None:
    client.listings = [Listing([], None), Listing([service("api", "1")], "5")]
    client.streams = [StreamError(404, "/apis/x/v1/things", "not found")]
    cache = informer(client, [])
    await run_until(cache)
    assert cache.synced
    assert names(cache) == ["api"]  # the CRD arrived: the second listing found the object


async def test_an_unexpected_error_event_ends_the_stream_and_is_retried(client: ScriptedClient) -> None:
    client.listings = [Listing([], "10")]
    client.streams = [[{"type": "ERROR", "object": {"kind": "Status", "code": 500, "message": "etcd is sad"}}]]
    cache = informer(client, [])
    await run_until(cache)
    assert client.watched_from == ["10", "10"]


def test_an_informer_covers_its_namespace_or_all(client: ScriptedClient) -> None:
    assert Informer(client, SERVICE, None, OURS).covers("shop")
    assert Informer(client, SERVICE, "shop", OURS).covers("shop")
    assert not Informer(client, SERVICE, "shop", OURS).covers("billing")
