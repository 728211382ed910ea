"""The real operator process loop (kopf) against kmock's Kubernetes emulator: create, drift, delete.

kopf runs in its own thread (``KopfRunner``) and watches kmock over HTTP exactly as it would watch a cluster;
kmock's server runs on this test's event loop, so the test awaits instead of blocking, and leaves the runner
from a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import kmock
import pytest
from kopf.testing import KopfRunner
from kubernetes.client import ApiClient, Configuration

from apibase_operator.kube.client import KubeClient
from apibase_operator.kube.kinds import kind_of
from tests.integration.apibase_operator.conftest import OpenBao

pytestmark = pytest.mark.integration

NS, NAME = "shop", "orders"
DEPLOYMENT = kind_of({"apiVersion": "apps/v1", "kind": "Deployment"})
SERVICE = kind_of({"apiVersion": "v1", "kind": "Service"})
APIBASE = {
    "apiVersion": "apibase.dev/v1alpha1",
    "kind": "ApiBase",
    "metadata": {"name": NAME, "namespace": NS, "uid": "uid-orders", "generation": 1, "resourceVersion": "1"},
    "spec": {"image": "ghcr.io/acme/orders:1.4.2", "replicas": 2},
}


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    pytest.fail("the operator did not converge in time")


@pytest.fixture
def kubeconfig(kmock: kmock.KubernetesEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kmock", "cluster": {"server": str(kmock.url).rstrip("/")}}],
        "users": [{"name": "kmock", "user": {"token": "kmock-token"}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock", "namespace": NS}}],
        "current-context": "kmock",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.setenv("APIBASE_OPERATOR_RESYNC_SECONDS", "2")
    return path


def register_kinds(kmock: kmock.KubernetesEmulator) -> None:
    """Every kind kopf and the reconciler touch, so that kmock serves them."""
    kmock.resources["apibase.dev/v1alpha1/apibases"] = {
        "kind": "ApiBase",
        "namespaced": True,
        "verbs": ["list", "watch", "get", "patch", "create", "delete"],
        "subresources": ["status"],
    }
    verbs = ["list", "watch", "get", "patch", "create", "delete"]
    for resource, kind in [
        ("apps/v1/deployments", "Deployment"),
        ("v1/services", "Service"),
        ("v1/secrets", "Secret"),
        ("v1/serviceaccounts", "ServiceAccount"),
        ("v1/events", "Event"),
        ("v1/namespaces", "Namespace"),
        ("policy/v1/poddisruptionbudgets", "PodDisruptionBudget"),
        ("apiextensions.k8s.io/v1/customresourcedefinitions", "CustomResourceDefinition"),
    ]:
        cluster_scoped = kind in {"CustomResourceDefinition", "Namespace"}
        kmock.resources[resource] = {"kind": kind, "namespaced": not cluster_scoped, "verbs": verbs}


async def test_kopf_reconciles_repairs_drift_and_cleans_up_on_delete(
    kmock: kmock.KubernetesEmulator, kubeconfig: Path
) -> None:
    register_kinds(kmock)
    api = ApiClient(Configuration(host=str(kmock.url).rstrip("/")))
    kube = KubeClient(api)
    runner = KopfRunner(["run", "-A", "--standalone", "--verbose", "-m", "apibase_operator.handlers"], timeout=60)
    await asyncio.to_thread(runner.__enter__)
    try:
        await kube._call("POST", f"/apis/apibase.dev/v1alpha1/namespaces/{NS}/apibases", APIBASE)

        async def deployed() -> bool:
            return await kube.get(DEPLOYMENT, NS, NAME) is not None and await kube.get(SERVICE, NS, NAME) is not None

        await eventually(deployed)
        await kube.delete(SERVICE, NS, NAME)  # drift: someone deletes an owned object
        await eventually(lambda: _exists(kube, SERVICE))
        await kube._call("DELETE", f"/apis/apibase.dev/v1alpha1/namespaces/{NS}/apibases/{NAME}")

        async def cleaned() -> bool:
            return await kube.get(DEPLOYMENT, NS, NAME) is None

        await eventually(cleaned)
    finally:
        await asyncio.to_thread(runner.__exit__, None, None, None)
        api.close()
    assert runner.exception is None, runner.output


async def _exists(kube: KubeClient, kind: object) -> bool:
    return await kube.get(kind, NS, NAME) is not None  # type: ignore[arg-type]


async def test_a_hanging_vault_does_not_hold_up_an_apibase_without_vault(
    kmock: kmock.KubernetesEmulator,
    kubeconfig: Path,
    openbao_factory: Callable[[], contextlib.AbstractContextManager[OpenBao]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real OpenBao paused with SIGSTOP accepts connections and never answers: the operator's read of it waits
    for its timeout (30 s here, so that "while Vault hangs" is unambiguous). Meanwhile an ApiBase without Vault
    must be reconciled (Deployment and status) while the other one is still waiting."""
    monkeypatch.setenv("APIBASE_OPERATOR_VAULT_TIMEOUT_SECONDS", "30")
    register_kinds(kmock)
    api = ApiClient(Configuration(host=str(kmock.url).rstrip("/")))
    kube = KubeClient(api)
    with openbao_factory() as vault:
        kmock.objects["v1/secrets", NS, "vault-token"] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "vault-token", "namespace": NS},
            "data": {"token": base64.b64encode(vault.root_token.encode()).decode()},
        }
        with_vault = {
            **APIBASE,
            "spec": {
                **APIBASE["spec"],  # type: ignore[dict-item]
                "vault": {
                    "address": vault.address,
                    "auth": {"tokenSecret": {"name": "vault-token", "key": "token"}},
                    "paths": [{"path": "orders/db", "keys": {"password": "DB_PASSWORD"}}],
                },
            },
        }
        without_vault = {
            **APIBASE,
            "metadata": {**APIBASE["metadata"], "namespace": "payments", "name": "billing", "uid": "uid-billing"},  # type: ignore[dict-item]
        }
        os.kill(vault.pid, signal.SIGSTOP)
        runner = KopfRunner(["run", "-A", "--standalone", "-m", "apibase_operator.handlers"], timeout=60)
        await asyncio.to_thread(runner.__enter__)
        try:
            await kube._call("POST", f"/apis/apibase.dev/v1alpha1/namespaces/{NS}/apibases", with_vault)

            async def reading_vault() -> bool:  # the token is read right before the request to the paused server
                return any(request.url.path.endswith(f"/namespaces/{NS}/secrets/vault-token") for request in kmock)

            await eventually(reading_vault)
            started = time.monotonic()
            await kube._call("POST", "/apis/apibase.dev/v1alpha1/namespaces/payments/apibases", without_vault)

            async def reconciled() -> bool:
                """Deployment applied and status written: kmock runs no Deployment controller, so Ready=False."""
                found = await kube.get_apibase("payments", "billing") or {}
                conditions = (found.get("status") or {}).get("conditions") or []  # type: ignore[attr-defined]
                ready = [c for c in conditions if c["type"] == "Ready"]
                applied = await kube.get(DEPLOYMENT, "payments", "billing") is not None
                return applied and [(c["status"], c["reason"]) for c in ready] == [("False", "Progressing")]

            await eventually(reconciled, seconds=15)  # generous: a loaded machine, and kmock is slow
            elapsed = time.monotonic() - started
            waiting = await kube.get_apibase(NS, NAME) or {}
        finally:
            await asyncio.to_thread(runner.__exit__, None, None, None)
            api.close()
    assert runner.exception is None, runner.output
    assert "status" not in waiting, f"the Vault ApiBase was done before the other one ({elapsed:.1f} s)"
    assert elapsed < 15
