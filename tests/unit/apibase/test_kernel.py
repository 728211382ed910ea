"""The kernel's connection pools: every adapter shares them, the metrics report them, ``stop`` closes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from limits.aio.storage import RedisStorage

from apibase.core.settings import DaprSettings
from apibase.domain.identity.permissions import PermissionRegistry
from apibase.domain.identity.roles import kernel_role_policy
from apibase.infrastructure.dapr import client as dapr_client
from apibase.infrastructure.events.transports import dapr as dapr_transport
from apibase.infrastructure.pools import LOG_SHIPPING, PoolStatus
from apibase.kernel import build_kernel
from apibase.main import create_app
from apibase.testing.service import service_settings

pytestmark = pytest.mark.unit

ROLES = kernel_role_policy(PermissionRegistry())


async def test_redis_is_one_pool_shared_by_rate_limits_idempotency_and_health(tmp_path: Path) -> None:
    settings = service_settings(
        tmp_path / "k.db", redis_url="redis://127.0.0.1:1/0", pools={"redis_max_connections": 3}
    )
    kernel = build_kernel(settings, roles=ROLES)

    storage = kernel.security.rate_limit_storage
    assert isinstance(storage, RedisStorage)
    assert kernel.security.redis is kernel.pools.redis
    assert storage.bridge.storage.connection_pool is kernel.pools.redis_pool  # type: ignore[attr-defined]
    assert kernel.pools.statuses()["redis"] == PoolStatus(limit=3, open=0, in_use=0, idle=0)
    await kernel.stop()


async def test_every_pool_is_in_the_metrics_and_closed_at_stop(tmp_path: Path) -> None:
    kernel = build_kernel(service_settings(tmp_path / "k.db"), roles=ROLES)
    outbound = kernel.pools.http()
    async with kernel.session_factory() as session:  # opens the database pool's first connection
        await session.connection()

    body, _ = kernel.metrics.render(None)
    await kernel.stop()

    assert 'connection_pool_open{pool="database"} 1.0' in body.decode()
    assert 'connection_pool_limit{pool="http"} 50.0' in body.decode()
    assert outbound.is_closed


async def test_the_log_shipper_sends_through_a_pooled_client_of_its_own(tmp_path: Path) -> None:
    settings = service_settings(tmp_path / "k.db", observability={"log_shipping_url": "http://127.0.0.1:1"})
    kernel = create_app(settings).state.kernel

    assert {"database", "http", "http_log_shipping"} <= set(kernel.pools.statuses())
    assert kernel.pools.http(LOG_SHIPPING) is not kernel.pools.http()
    await kernel.pools.close()


async def test_every_dapr_adapter_shares_one_sidecar_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dapr_client.DaprSidecar] = []

    class CountedSidecar(dapr_client.DaprSidecar):
        def __init__(self, settings: DaprSettings, *, timeout_seconds: float = 5.0) -> None:
            super().__init__(settings, timeout_seconds=timeout_seconds)
            made.append(self)

    for module in (dapr_client, dapr_transport):
        monkeypatch.setattr(module, "DaprSidecar", CountedSidecar)
    settings = service_settings(
        tmp_path / "k.db",
        idempotency={"backend": "dapr"},
        secrets={"provider": "dapr"},
        events={"publisher": "dapr"},
        dapr={"grpc_endpoint": "127.0.0.1:1"},
    )
    kernel = create_app(settings).state.kernel  # nothing is contacted before start-up

    assert made == [kernel.pools.dapr()], "the secrets provider, idempotency store and publisher share one client"
    assert kernel.pools.statuses()["dapr"] == PoolStatus(limit=1, open=0, in_use=0, idle=0)
    await kernel.pools.close()
