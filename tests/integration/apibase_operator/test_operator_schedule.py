"""Timed work happens on time in the real operator (kopf on kmock): canary steps, rollbacks and Vault refreshes.

Measured on kmock before the fix: three 5 s canary steps were promoted after 123 s, and a Vault value rotated
under a 10 s refresh interval reached the Secret after 54 s. Now each step and each refresh comes within
``SLACK_SECONDS`` of its interval, plus the one thing the loop cannot cut short: a reconciliation of the same
ApiBase still running when the time comes (a fraction of a second on a cluster; seconds on kmock, which lacks
server-side apply, on a machine busy with other work).

Each runs at the end of its interval, not at the next resync (the resync interval stays at its 60 s default
here, so a step left to it would be a minute late). The intervals are the shortest the CRD allows (5 s steps,
10 s refresh); each is measured by the operator's own timestamps (status and conditions).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import hvac
import kmock
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from kopf.testing import KopfRunner

from apibase_operator.kube.client import KubeClient
from apibase_operator.runtime import Reconciler, ReconcileResult

pytestmark = pytest.mark.integration

NS = "shop"
IMAGE, CANARY = "ghcr.io/acme/orders:1.4.2", "ghcr.io/acme/orders:1.5.0"
STEP_SECONDS, REFRESH_SECONDS = 5, 10
#: How late a timed step may come besides a reconciliation in flight (by the operator's clock).
SLACK_SECONDS = 2.0


class OpenBao(Protocol):
    address: str
    root_token: str


@pytest.fixture
async def prometheus() -> AsyncIterator[str]:
    """A Prometheus query API with two answers: ``healthy`` is 0.01 and anything else 0.5 (above maxValue)."""

    async def query(request: web.Request) -> web.Response:
        value = "0.01" if request.query.get("query") == "healthy" else "0.5"
        return web.json_response({"status": "success", "data": {"resultType": "scalar", "result": [0, value]}})

    app = web.Application()
    app.router.add_get("/api/v1/query", query)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
def longest_reconciliation(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """The longest reconciliation of each ApiBase so far, in seconds (kopf runs in this process)."""
    longest: dict[str, float] = {}
    reconcile = Reconciler.reconcile

    async def timed(self: Reconciler, body: Mapping[str, Any]) -> ReconcileResult:
        started = time.monotonic()
        try:
            return await reconcile(self, body)
        finally:
            name = body["metadata"]["name"]
            longest[name] = max(longest.get(name, 0.0), time.monotonic() - started)

    monkeypatch.setattr(Reconciler, "reconcile", timed)
    return longest


def apibase(name: str, spec: Mapping[str, object]) -> dict[str, object]:
    return {
        "apiVersion": "apibase.dev/v1alpha1",
        "kind": "ApiBase",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "generation": 1, "resourceVersion": "1"},
        "spec": {"image": IMAGE, "replicas": 1, **spec},
    }


def canary(prometheus: str, query: str) -> dict[str, object]:
    analysis = {"prometheusUrl": prometheus, "query": query, "maxValue": 0.05}
    return {"canary": {"image": CANARY, "steps": [50, 100], "stepIntervalSeconds": STEP_SECONDS, "analysis": analysis}}


class Cluster:
    """What the operator wrote, read from kmock's store directly rather than over HTTP: polling through the
    emulator's server would compete with the operator for it, on a loaded machine enough to delay it by seconds.
    """

    def __init__(self, kmock: kmock.KubernetesEmulator) -> None:
        self.kmock = kmock

    def _latest(self, resource: str, name: str) -> Mapping[str, object]:
        try:
            found = self.kmock.objects[resource, NS, name]
        except KeyError:
            return {}
        return {} if found.deleted else found.raw

    def status(self, name: str) -> Mapping[str, Any]:
        status = self._latest("apibase.dev/v1alpha1/apibases", name).get("status")
        return status if isinstance(status, Mapping) else {}

    def secret_value(self, name: str) -> str | None:
        data = self._latest("v1/secrets", name).get("data")
        value = data.get("DB_PASSWORD") if isinstance(data, Mapping) else None
        return base64.b64decode(value).decode() if isinstance(value, str) else None


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def transition(status: Mapping[str, Any], type_: str, reason: str) -> datetime | None:
    """When the condition took this reason, by the operator's clock; None while it has another."""
    for condition in status.get("conditions") or []:
        if condition["type"] == type_ and condition["reason"] == reason:
            return at(condition["lastTransitionTime"])
    return None


def at_weight(status: Mapping[str, Any], weight: int) -> datetime | None:
    """When the canary step at this weight started, by the operator's clock."""
    return at(status["canaryStepStartedAt"]) if status.get("canaryWeight") == weight else None


async def until[T](check: Callable[[], T | None]) -> T:
    """The first value ``check`` returns that is not None, looking every 0.1 s for up to a minute."""
    deadline = time.monotonic() + 60
    while (found := check()) is None:
        assert time.monotonic() < deadline, "the operator did not get there within a minute"
        await asyncio.sleep(0.1)
    return found


async def test_canary_steps_rollbacks_and_vault_refreshes_come_on_time(
    kmock: kmock.KubernetesEmulator,
    kube: KubeClient,
    run_operator: Callable[[], contextlib.AbstractAsyncContextManager[KopfRunner]],
    prometheus: str,
    openbao: OpenBao,
    monkeypatch: pytest.MonkeyPatch,
    longest_reconciliation: dict[str, float],
) -> None:
    path = f"orders-{uuid.uuid4().hex[:8]}/db"
    root = hvac.Client(url=openbao.address, token=openbao.root_token)
    root.secrets.kv.v2.create_or_update_secret(path=path, secret={"password": "first"}, mount_point="secret")
    monkeypatch.setenv("APIBASE_OPERATOR_NAMESPACE", NS)  # where the tokenSecret is read
    token = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vault-token", "namespace": NS}}
    await kube._call("POST", f"/api/v1/namespaces/{NS}/secrets", {**token, "data": {"token": "Uk9PVA=="}})  # ROOT
    vault = {
        "address": openbao.address,
        "auth": {"tokenSecret": {"name": "vault-token", "key": "token"}},
        "paths": [{"path": path, "keys": {"password": "DB_PASSWORD"}}],
        "refreshIntervalSeconds": REFRESH_SECONDS,
    }
    cluster = Cluster(kmock)
    names = ["promoted", "rolledback", "rotated"]

    async def change(name: str, spec: Mapping[str, object]) -> None:
        path_of = f"/apis/apibase.dev/v1alpha1/namespaces/{NS}/apibases/{name}"
        await kube._call("PATCH", path_of, {"spec": spec}, "application/merge-patch+json")

    def synced(value: str, after: datetime | None = None) -> Callable[[], datetime | None]:
        """When the sync that put ``value`` into the Secret happened (its status is written after the Secret)."""

        def check() -> datetime | None:
            when = cluster.status("rotated").get("lastSecretSync")
            if when is None or cluster.secret_value("rotated-vault") != value:
                return None
            return at(when) if after is None or at(when) > after else None

        return check

    took: dict[str, float] = {}
    async with run_operator():
        # First the plain services, so that creating them (slow on kmock, which lacks server-side apply) is over
        # before any clock starts; then one timed change after the other (they would slow each other down on a
        # busy machine), each waking its ApiBase's loop.
        for name in names:
            await kube._call("POST", f"/apis/apibase.dev/v1alpha1/namespaces/{NS}/apibases", apibase(name, {}))
        for name in names:
            await until(lambda name=name: cluster.status(name).get("stableRevision"))
        longest_reconciliation.clear()

        await change("promoted", canary(prometheus, "healthy"))
        first_step = await until(lambda: at_weight(cluster.status("promoted"), 50))
        second_step = await until(lambda: at_weight(cluster.status("promoted"), 100))
        promoted = await until(lambda: transition(cluster.status("promoted"), "Progressing", "Promoted"))
        took["first step"] = (second_step - first_step).total_seconds()
        took["second step"] = (promoted - second_step).total_seconds()

        await change("rolledback", canary(prometheus, "failing"))
        started = await until(lambda: at_weight(cluster.status("rolledback"), 50))
        rolled_back = await until(lambda: transition(cluster.status("rolledback"), "Progressing", "RolledBack"))
        took["rollback"] = (rolled_back - started).total_seconds()

        await change("rotated", {"vault": vault})
        first = await until(synced("first"))
        root.secrets.kv.v2.create_or_update_secret(path=path, secret={"password": "second"}, mount_point="secret")
        took["refresh"] = ((await until(synced("second", after=first))) - first).total_seconds()
    root.adapter.close()

    wanted = {
        "first step": (STEP_SECONDS, "promoted"),
        "second step": (STEP_SECONDS, "promoted"),
        "rollback": (STEP_SECONDS, "rolledback"),
        "refresh": (REFRESH_SECONDS, "rotated"),
    }
    for what, (seconds, name) in wanted.items():
        in_flight = longest_reconciliation[name]
        assert seconds <= took[what] <= seconds + SLACK_SECONDS + in_flight, (what, took, longest_reconciliation)
