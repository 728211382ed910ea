"""``DaprStore``, the response cache's ``Store`` on the sidecar's state store: typed values, TTL, clear."""

import pytest
from pydantic import BaseModel
from redis.asyncio import Redis

from apibase.infrastructure.dapr.cache import DaprStore
from apibase.infrastructure.dapr.client import DaprSidecar
from apibase.infrastructure.dapr.state import DaprState
from apibase.testing.dapr_sidecar import DaprStandIn

pytestmark = pytest.mark.integration


class Product(BaseModel):
    id: int
    name: str


@pytest.fixture
def cache(sidecar: DaprSidecar) -> DaprStore[Product]:
    return DaprStore(DaprState(sidecar, "statestore"), Product, namespace="products:")


async def test_values_round_trip_and_delete(cache: DaprStore[Product]) -> None:
    assert await cache.get("1") is None
    await cache.set("1", Product(id=1, name="Lamp"))
    await cache.set("1", Product(id=1, name="Desk lamp"))  # a cache overwrites
    assert await cache.get("1") == Product(id=1, name="Desk lamp")
    await cache.delete("1")
    await cache.delete("1")
    assert await cache.get("1") is None


async def test_ttl_reaches_redis(cache: DaprStore[Product], redis: Redis, stand_in: DaprStandIn) -> None:
    await cache.set("1", Product(id=1, name="Lamp"), ttl_seconds=60)
    assert 0 < await redis.ttl(f"{stand_in.prefix}state:statestore||products:0:1") <= 60


async def test_clear_forgets_every_value_and_the_cache_keeps_working(cache: DaprStore[Product]) -> None:
    await cache.set("1", Product(id=1, name="Lamp"))
    await cache.set("2", Product(id=2, name="Desk"))
    await cache.clear()
    assert await cache.get("1") is None
    assert await cache.get("2") is None
    await cache.set("1", Product(id=1, name="New lamp"))
    assert await cache.get("1") == Product(id=1, name="New lamp")
    await cache.clear()
    assert await cache.get("1") is None
