"""Kernel integration fixtures: a stand-in Dapr sidecar on the real Redis per test (on the test's own loop)."""

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from apibase.infrastructure.dapr.client import DaprSidecar
from apibase.testing.dapr_sidecar import DaprStandIn


@pytest.fixture
async def stand_in(redis: Redis) -> AsyncIterator[DaprStandIn]:
    async with DaprStandIn(redis, secrets={"db": {"password": "s3cret-value", "user": "shop"}}) as sidecar:
        yield sidecar


@pytest.fixture
async def sidecar(stand_in: DaprStandIn) -> AsyncIterator[DaprSidecar]:
    """The kernel's client, pointed at the stand-in."""
    client = DaprSidecar(stand_in.settings)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def absent_sidecar(stand_in: DaprStandIn) -> AsyncIterator[DaprSidecar]:
    """A client whose sidecar never becomes healthy (nothing listens on its HTTP port): it gives up in 0.3 s."""
    client = DaprSidecar(
        stand_in.settings.model_copy(update={"http_endpoint": "http://127.0.0.1:9"}), timeout_seconds=0.3
    )
    try:
        yield client
    finally:
        await client.close()
