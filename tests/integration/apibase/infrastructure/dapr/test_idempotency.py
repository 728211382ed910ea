"""``DaprIdempotencyStore`` through the SDK and the stand-in on Redis: the contract the Redis and SQL stores keep."""

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from apibase.application.ports.idempotency import (
    Claimed,
    IdempotencyStore,
    IdempotencyUnavailable,
)
from apibase.infrastructure.dapr.client import DaprSidecar
from apibase.infrastructure.dapr.idempotency import DaprIdempotencyStore
from apibase.infrastructure.dapr.state import DaprState
from apibase.interface.http.middleware.idempotency import IdempotencyMiddleware
from apibase.interface.http.problems import install_problem_handlers
from apibase.testing.dapr_sidecar import DaprStandIn
from apibase.testing.idempotency import RESPONSE, IdempotencyStoreContract, claim

pytestmark = pytest.mark.integration


@pytest.fixture
def store(sidecar: DaprSidecar) -> DaprIdempotencyStore:
    return DaprIdempotencyStore(DaprState(sidecar, "statestore"), key_prefix="idem:")


def redis_key(stand_in: DaprStandIn, key: str) -> str:
    return f"{stand_in.prefix}state:statestore||idem:{key}"


class TestDaprIdempotencyStore(IdempotencyStoreContract):
    async def lapse(self, store: IdempotencyStore, key: str) -> None:
        await self.redis.delete(redis_key(self.stand_in, key))  # as Redis expires it when ttlInSeconds runs out

    @pytest.fixture(autouse=True)
    def _servers(self, redis: Redis, stand_in: DaprStandIn) -> None:
        self.redis, self.stand_in = redis, stand_in


async def test_leases_and_kept_responses_expire_by_ttl_in_seconds(
    store: DaprIdempotencyStore, redis: Redis, stand_in: DaprStandIn
) -> None:
    owner = await claim(store)
    assert 0 < await redis.ttl(redis_key(stand_in, "t:k")) <= 30
    await store.complete(owner, RESPONSE, 600)
    assert 30 < await redis.ttl(redis_key(stand_in, "t:k")) <= 600


async def test_an_unreachable_sidecar_fails_keyed_requests_with_503(absent_sidecar: DaprSidecar) -> None:
    store = DaprIdempotencyStore(DaprState(absent_sidecar, "statestore"))
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(IdempotencyMiddleware, store=store, ttl_seconds=60)
    runs: list[int] = []

    @app.post("/charges")
    async def charge() -> dict[str, int]:
        runs.append(1)
        return {"charge": len(runs)}

    with pytest.raises(IdempotencyUnavailable):
        await store.release(Claimed("t:k", "fp", "token"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        keyed = await http.post("/charges", json={}, headers={"Idempotency-Key": "k"})
        unkeyed = await http.post("/charges", json={})
    assert keyed.status_code == 503
    assert keyed.json()["code"] == "idempotency.unavailable"
    assert unkeyed.status_code == 200
    assert runs == [1]
