"""The real operator process loop (kopf, see the conftest) against kmock's Kubernetes emulator: create, drift,
delete.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable

import kmock
import pytest
from kopf.testing import KopfRunner

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


async def test_kopf_reconciles_repairs_drift_and_cleans_up_on_delete(
    kube: KubeClient, run_operator: Callable[[], contextlib.AbstractAsyncContextManager[KopfRunner]]
) -> None:
    async with run_operator():
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


async def _exists(kube: KubeClient, kind: object) -> bool:
    return await kube.get(kind, NS, NAME) is not None  # type: ignore[arg-type]


async def test_a_hanging_vault_does_not_hold_up_an_apibase_without_vault(
    kmock: kmock.KubernetesEmulator,
    kube: KubeClient,
    run_operator: Callable[[], contextlib.AbstractAsyncContextManager[KopfRunner]],
    openbao_factory: Callable[[], contextlib.AbstractContextManager[OpenBao]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real OpenBao paused with SIGSTOP accepts connections and never answers: the operator's read of it waits
    for its timeout (30 s here, so that "while Vault hangs" is unambiguous). Meanwhile an ApiBase without Vault
    must be reconciled (Deployment and status) while the other one is still waiting."""
    monkeypatch.setenv("APIBASE_OPERATOR_VAULT_TIMEOUT_SECONDS", "30")
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
        async with run_operator():
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
    assert "status" not in waiting, f"the Vault ApiBase was done before the other one ({elapsed:.1f} s)"
    assert elapsed < 15
