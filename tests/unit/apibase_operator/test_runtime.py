"""The reconcile loop against kmock's Kubernetes emulator: create, no-op, drift, prune, canary, Vault, delete."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException

from apibase_operator.canary.analysis import AnalysisReason, AnalysisResult
from apibase_operator.crd.models import CanaryAnalysis, Vault
from apibase_operator.kube.client import KubeClient
from apibase_operator.kube.kinds import kind_of
from apibase_operator.metrics import OperatorMetrics
from apibase_operator.runtime import OperatorConfig, Reconciler
from apibase_operator.vault.client import VaultReader, VaultUnavailable

pytestmark = pytest.mark.unit

NS, NAME = "shop", "orders"
RESOURCE = "apibase.dev/v1alpha1/apibases"
IMAGE, CANARY = "ghcr.io/acme/orders:1.4.2", "ghcr.io/acme/orders:1.5.0"
DEPLOYMENT = kind_of({"apiVersion": "apps/v1", "kind": "Deployment"})
VIRTUAL_SERVICE = kind_of({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService"})
SECRET = kind_of({"apiVersion": "v1", "kind": "Secret"})
HASH_KEY = b"runtime-tests-hash-key-32-bytes!"


@dataclass
class Clock:
    now: datetime = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeAnalysis:
    passing: bool = True
    calls: int = 0

    async def evaluate(self, analysis: CanaryAnalysis) -> AnalysisResult:
        self.calls += 1
        if self.passing:
            return AnalysisResult(True, 0.01, AnalysisReason.PASSED, "error rate 0.01")
        return AnalysisResult(False, 0.5, AnalysisReason.THRESHOLD_EXCEEDED, "error rate 0.5 > 0.05")


@dataclass
class FakeVault:
    values: dict[str, dict[str, str]] = field(default_factory=lambda: {"orders/db": {"password": "s3cret"}})
    down: bool = False

    def read(self, mount: str, path: str) -> dict[str, str]:
        if self.down:
            raise VaultUnavailable("connection refused by 127.0.0.1:8200")
        return dict(self.values[path])


@dataclass
class World:
    kmock: kmock.KubernetesEmulator
    kube: KubeClient
    reconciler: Reconciler
    clock: Clock
    analysis: FakeAnalysis
    vault: FakeVault

    def put(self, spec: Mapping[str, object], generation: int = 1) -> None:
        self.kmock.objects[RESOURCE, NS, NAME] = {
            "apiVersion": "apibase.dev/v1alpha1",
            "kind": "ApiBase",
            "metadata": {"name": NAME, "namespace": NS, "uid": "uid-1", "generation": generation},
            "spec": dict(spec),
        }

    async def body(self) -> dict[str, object]:
        found = await self.kube.get_apibase(NS, NAME)
        assert found is not None
        return found

    async def reconcile(self) -> int:
        return (await self.reconciler.reconcile(await self.body())).writes

    async def get(self, kind: object, name: str = NAME) -> dict[str, object] | None:
        return await self.kube.get(kind, NS, name)  # type: ignore[arg-type]

    async def condition(self, type_: str) -> dict[str, object]:
        status = (await self.body())["status"]
        return next(c for c in status["conditions"] if c["type"] == type_)  # type: ignore[index,union-attr]


@pytest.fixture
async def world(kmock: kmock.KubernetesEmulator) -> AsyncIterator[World]:
    kmock.resources[RESOURCE] = {"kind": "ApiBase", "namespaced": True, "subresources": ["status"]}
    api = ApiClient(Configuration(host=str(kmock.url).rstrip("/")))
    kube, clock, analysis, vault = KubeClient(api), Clock(), FakeAnalysis(), FakeVault()
    reconciler = Reconciler(
        kube=kube,
        vault_reader=lambda spec, workload: vault,  # type: ignore[arg-type,return-value]
        hash_key=HASH_KEY,
        analysis=analysis,  # type: ignore[arg-type]
        config=OperatorConfig(vault_mounts=frozenset({"secret"})),
        metrics=OperatorMetrics(),
        clock=clock,
    )
    yield World(kmock, kube, reconciler, clock, analysis, vault)
    api.close()


ISTIO = {"enabled": True}


async def test_create_applies_everything_and_a_resync_writes_nothing(world: World) -> None:
    world.put({"image": IMAGE, "istio": ISTIO})
    assert await world.reconcile() > 0
    deployment = await world.get(DEPLOYMENT)
    assert deployment is not None
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE  # type: ignore[index]
    assert await world.get(VIRTUAL_SERVICE) is not None
    ready = await world.condition("Ready")
    assert (ready["status"], ready["reason"]) == ("False", "Progressing")
    status = (await world.body())["status"]
    assert len(status["stableRevision"]) == 12  # type: ignore[index,arg-type]
    assert status.get("canaryRevision") is None  # type: ignore[union-attr]
    assert await world.reconcile() == 0
    assert await world.reconcile() == 0


def events(world: World, since: int = 0) -> list[tuple[str, str, str]]:
    """(type, reason, message) of each Event the reconciler posted after kmock's first ``since`` requests."""
    posted = [r.data for r in list(world.kmock)[since:] if r.method == "POST" and r.url.path.endswith("/events")]
    return [(str(e["type"]), str(e["reason"]), str(e["message"])) for e in posted]


async def test_each_reconciliation_that_writes_tells_it_in_one_event(world: World) -> None:
    world.put({"image": IMAGE, "istio": ISTIO})
    await world.reconcile()
    [(kind, reason, message)] = events(world)  # one Event, however many objects were created
    assert (kind, reason) == ("Normal", "Created")
    assert message.startswith("Created ")
    assert f" Deployment {NAME}, " in message
    assert message.endswith(f" VirtualService {NAME}")
    before = len(list(world.kmock))
    await world.reconcile()
    assert events(world, before) == []  # nothing written, nothing told
    world.kmock.objects["apps/v1/deployments", NS, NAME].patch({"spec": {"replicas": 7}})
    world.put({"image": IMAGE, "istio": {"enabled": False}}, generation=2)
    before = len(list(world.kmock))
    await world.reconcile()
    [(kind, reason, message)] = events(world, before)
    assert (kind, reason) == ("Normal", "Changed")
    assert message.startswith(f"Updated Deployment {NAME}; Pruned ")
    assert f"VirtualService {NAME}" in message
    assert message.endswith("(no longer desired)")


async def test_ready_follows_the_deployment_and_drift_is_repaired(world: World) -> None:
    world.put({"image": IMAGE, "replicas": 2})
    await world.reconcile()
    world.kmock.objects["apps/v1/deployments", NS, NAME].patch({"status": {"availableReplicas": 2}})
    await world.reconcile()
    assert (await world.condition("Ready"))["status"] == "True"
    world.kmock.objects["apps/v1/deployments", NS, NAME].patch({"spec": {"replicas": 7}})
    assert await world.reconcile() > 0
    repaired = await world.get(DEPLOYMENT)
    assert repaired is not None
    assert repaired["spec"]["replicas"] == 2  # type: ignore[index]
    await world.kube.delete(DEPLOYMENT, NS, NAME)
    await world.reconcile()
    assert await world.get(DEPLOYMENT) is not None


async def test_turning_istio_off_prunes_its_objects(world: World) -> None:
    world.put({"image": IMAGE, "istio": ISTIO})
    await world.reconcile()
    world.put({"image": IMAGE, "istio": {"enabled": False}}, generation=2)
    await world.reconcile()
    assert await world.get(VIRTUAL_SERVICE) is None
    assert await world.get(DEPLOYMENT) is not None


async def test_a_canary_advances_step_by_step_and_is_promoted(world: World) -> None:
    canary = {
        "image": CANARY,
        "steps": [10, 50, 100],
        "stepIntervalSeconds": 60,
        "analysis": {"prometheusUrl": "http://prometheus:9090", "query": "error_rate", "maxValue": 0.05},
    }
    world.put({"image": IMAGE, "istio": ISTIO, "canary": canary})
    weights: list[int] = []
    for _ in range(6):
        await world.reconcile()
        status = (await world.body())["status"]
        weights.append(status["canaryWeight"])  # type: ignore[index]
        world.clock.advance(61)
    assert weights[:3] == [10, 50, 100]
    assert status["stableRevision"]  # type: ignore[index]
    assert weights[-1] == 0
    assert await world.get(DEPLOYMENT, f"{NAME}-canary") is None
    stable = await world.get(DEPLOYMENT)
    assert stable is not None
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"] == CANARY  # type: ignore[index]
    assert world.analysis.calls >= 2


async def test_a_failing_analysis_rolls_back_to_zero(world: World) -> None:
    world.analysis.passing = False
    canary = {
        "image": CANARY,
        "steps": [20, 100],
        "stepIntervalSeconds": 60,
        "analysis": {"prometheusUrl": "http://prometheus:9090", "query": "error_rate", "maxValue": 0.05},
    }
    world.put({"image": IMAGE, "istio": ISTIO, "canary": canary})
    await world.reconcile()
    service = await world.get(VIRTUAL_SERVICE)
    assert service is not None
    routes = service["spec"]["http"][0]["route"]  # type: ignore[index]
    assert sorted(route["weight"] for route in routes) == [20, 80]
    world.clock.advance(61)
    await world.reconcile()
    assert (await world.body())["status"]["canaryWeight"] == 0  # type: ignore[index]
    healthy = await world.condition("CanaryHealthy")
    assert (healthy["status"], healthy["reason"]) == ("False", "ThresholdExceeded")
    assert await world.get(DEPLOYMENT, f"{NAME}-canary") is None
    world.clock.advance(61)
    assert await world.reconcile() == 0  # the failed image is not retried until the spec changes


VAULT = {
    "address": "http://vault:8200",
    "auth": {"tokenSecret": {"name": "vault-token", "key": "token"}},
    "paths": [{"path": "orders/db", "keys": {"password": "DB_PASSWORD"}}],
    "refreshIntervalSeconds": 60,
}


async def test_vault_values_are_synced_rotated_and_kept_when_vault_is_down(world: World) -> None:
    world.put({"image": IMAGE, "vault": VAULT})
    await world.reconcile()
    secret = await world.get(SECRET, f"{NAME}-vault")
    assert secret is not None
    first_hash = secret["metadata"]["annotations"]["apibase.dev/secret-hash"]  # type: ignore[index]
    assert "s3cret" not in str((await world.body())["status"])
    world.vault.values["orders/db"]["password"] = "rotated"
    world.clock.advance(61)
    await world.reconcile()
    deployment = await world.get(DEPLOYMENT)
    assert deployment is not None
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]  # type: ignore[index]
    assert annotations["apibase.dev/secret-hash"] != first_hash
    world.vault.down = True
    world.clock.advance(61)
    await world.reconcile()
    synced = await world.condition("SecretsSynced")
    assert (synced["status"], synced["reason"]) == ("False", "VaultUnavailable")
    assert await world.get(SECRET, f"{NAME}-vault") is not None


async def test_the_next_run_is_due_when_the_vault_refresh_is(world: World) -> None:
    world.put({"image": IMAGE, "vault": {**VAULT, "refreshIntervalSeconds": 30}})
    assert (await world.reconciler.reconcile(await world.body())).requeue_after_seconds == 30
    world.clock.advance(12)  # woken by a change in between: the refresh stays where it was
    assert (await world.reconciler.reconcile(await world.body())).requeue_after_seconds == 18
    world.clock.advance(18)
    world.vault.down = True  # a refresh that fails is tried again one interval later, not in a tight loop
    assert (await world.reconciler.reconcile(await world.body())).requeue_after_seconds == 30


async def test_the_next_run_is_due_when_the_canary_step_ends(world: World) -> None:
    world.put({"image": IMAGE, "canary": {"image": CANARY, "steps": [20, 100], "stepIntervalSeconds": 40}})
    assert (await world.reconciler.reconcile(await world.body())).requeue_after_seconds == 40
    world.clock.advance(15)
    assert (await world.reconciler.reconcile(await world.body())).requeue_after_seconds == 25


async def test_a_vault_mount_outside_the_operator_policy_is_degraded(world: World) -> None:
    world.put({"image": IMAGE, "vault": {**VAULT, "mount": "team-b"}})
    await world.reconcile()
    degraded = await world.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "VaultPathNotAllowed")
    assert "team-b" in str(degraded["message"])
    assert await world.get(SECRET, f"{NAME}-vault") is None
    assert await world.get(DEPLOYMENT) is not None  # other resources are not held hostage


@dataclass
class HangingVault:
    """Blocks like hvac does on a Vault that accepts connections and never answers, until released."""

    released: threading.Event = field(default_factory=threading.Event)

    def read(self, mount: str, path: str) -> dict[str, str]:
        self.released.wait(timeout=5)
        raise VaultUnavailable("reading secret/orders/db: http://vault:8200 timed out")


async def test_a_hanging_vault_does_not_stall_other_apibases(world: World) -> None:
    hanging = HangingVault()
    world.reconciler.vault_reader = lambda spec, workload: hanging  # type: ignore[assignment,return-value]
    world.put({"image": IMAGE, "vault": VAULT})
    # Another namespace: kmock ignores label selectors, so a prune would take the other ApiBase's objects.
    world.kmock.objects[RESOURCE, "payments", "billing"] = {
        "apiVersion": "apibase.dev/v1alpha1",
        "kind": "ApiBase",
        "metadata": {"name": "billing", "namespace": "payments", "uid": "uid-2", "generation": 1},
        "spec": {"image": IMAGE},
    }
    started = time.monotonic()
    stalled = asyncio.create_task(world.reconcile())
    await asyncio.sleep(0)  # the Vault ApiBase starts first and reaches its Vault read
    billing = await world.kube.get_apibase("payments", "billing")
    assert billing is not None
    await world.reconciler.reconcile(billing)
    elapsed = time.monotonic() - started
    assert not stalled.done()
    hanging.released.set()
    await stalled

    assert elapsed < 2, f"an ApiBase without Vault waited {elapsed:.1f} s for another one's Vault"
    assert await world.kube.get(DEPLOYMENT, "payments", "billing") is not None
    synced = await world.condition("SecretsSynced")
    assert (synced["status"], synced["reason"]) == ("False", "VaultUnavailable")


@dataclass
class BrokenVault:
    """A reader failing in a way no Vault error class describes (the token read of issue 11, item 16)."""

    def read(self, mount: str, path: str) -> dict[str, str]:
        raise ApiException(status=404, reason="Not Found")


async def test_an_unexpected_vault_failure_is_a_condition_and_the_rest_is_applied(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.reconciler.vault_reader = lambda spec, workload: BrokenVault()  # type: ignore[assignment,return-value]
    world.put({"image": IMAGE, "vault": VAULT})

    with caplog.at_level(logging.WARNING, logger="apibase_operator.runtime"):
        await world.reconcile()

    synced = await world.condition("SecretsSynced")
    assert (synced["status"], synced["reason"]) == ("False", "VaultSyncError")
    assert "ApiException" in str(synced["message"])
    assert await world.get(DEPLOYMENT) is not None
    assert await world.get(SECRET, f"{NAME}-vault") is None
    assert f"ApiBase {NS}/{NAME}: secrets not synced (VaultSyncError)" in caplog.text


async def test_a_failure_outside_the_steps_still_leaves_a_status(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(world.reconciler, "_readiness", broken)
    world.put({"image": IMAGE})

    with pytest.raises(RuntimeError, match="boom"):
        await world.reconcile()

    degraded = await world.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "ReconcileError")
    assert "RuntimeError" in str(degraded["message"])
    assert (await world.condition("Ready"))["status"] == "False"


async def test_invalid_and_paused_specs_touch_nothing_but_status(world: World) -> None:
    world.put({"image": "NOT a valid image!!", "replicas": -1})
    writes = await world.reconcile()
    assert writes == 1  # the status patch only
    degraded = await world.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "InvalidSpec")
    assert await world.get(DEPLOYMENT) is None
    world.put({"image": IMAGE, "paused": True}, generation=2)
    await world.reconcile()
    assert await world.get(DEPLOYMENT) is None


async def test_a_name_that_cannot_name_a_service_is_degraded_and_touches_nothing(world: World) -> None:
    name = "Hello_World"
    world.kmock.objects[RESOURCE, NS, name] = {
        "apiVersion": "apibase.dev/v1alpha1",
        "kind": "ApiBase",
        "metadata": {"name": name, "namespace": NS, "uid": "uid-2", "generation": 1},
        "spec": {"image": IMAGE},
    }
    body = await world.kube.get_apibase(NS, name)
    assert body is not None

    assert (await world.reconciler.reconcile(body)).writes == 1  # the status patch only
    status = (await world.kube.get_apibase(NS, name) or {})["status"]
    conditions = {c["type"]: c for c in status["conditions"]}  # type: ignore[index,union-attr]
    assert (conditions["Degraded"]["status"], conditions["Degraded"]["reason"]) == ("True", "InvalidName")
    assert conditions["Degraded"]["message"].startswith("metadata.name: 'Hello_World' is not a DNS-1035 label")
    assert (conditions["Ready"]["status"], conditions["Ready"]["reason"]) == ("False", "InvalidName")
    assert await world.kube.get(DEPLOYMENT, NS, name) is None


async def test_cleanup_deletes_every_owned_object(world: World) -> None:
    world.put({"image": IMAGE, "istio": ISTIO})
    await world.reconcile()
    assert await world.reconciler.cleanup(await world.body()) >= 5
    assert await world.get(DEPLOYMENT) is None
    assert await world.get(VIRTUAL_SERVICE) is None


def test_vault_is_typed_for_readers() -> None:
    reader: VaultReader = FakeVault()
    assert reader.read("secret", "orders/db") == {"password": "s3cret"}
    assert Vault.model_validate(VAULT).refresh_interval_seconds == 60
