"""The real operator process loop (kopf, see the conftest) against kmock's Kubernetes emulator: create, drift,
delete.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest
from kopf.testing import KopfRunner

from apibase_operator.kube.client import KubeClient
from apibase_operator.kube.kinds import kind_of

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
