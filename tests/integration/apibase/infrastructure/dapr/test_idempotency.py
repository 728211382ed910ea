"""``DaprIdempotencyStore`` through the SDK and the stand-in on Redis: the contract the Redis and SQL stores keep."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from apibase.application.ports.idempotency import (
    Claimed,
    IdempotencyUnavailable,
    InProgress,
    Mismatch,
    Replay,
    StoredResponse,
)
from apibase.infrastructure.dapr.client import DaprSidecar
from apibase.infrastructure.dapr.idempotency import DaprIdempotencyStore
from apibase.infrastructure.dapr.state import DaprState
from apibase.interface.http.middleware.idempotency import IdempotencyMiddleware
from apibase.interface.http.problems import install_problem_handlers
from apibase.testing.dapr_sidecar import DaprStandIn

pytestmark = pytest.mark.integration

RESPONSE = StoredResponse(201, (("content-type", "application/json"), ("etag", '"1"')), b'{"id":1}\x00\xff')


@pytest.fixture
def store(sidecar: DaprSidecar) -> DaprIdempotencyStore:
    return DaprIdempotencyStore(DaprState(sidecar, "statestore"), key_prefix="idem:")


def redis_key(stand_in: DaprStandIn, key: str) -> str:
    return f"{stand_in.prefix}state:statestore||idem:{key}"


async def claim(store: DaprIdempotencyStore, key: str = "t:k", fingerprint: str = "fp") -> Claimed:
    outcome = await store.begin(key, fingerprint, 30)
    assert isinstance(outcome, Claimed)
    return outcome


async def test_claim_replay_and_mismatch(store: DaprIdempotencyStore, redis: Redis, stand_in: DaprStandIn) -> None:
    owner = await claim(store)
    assert await store.begin("t:k", "fp", 30) == InProgress()
    assert await store.begin("t:k", "other", 30) == Mismatch()
    assert 0 < await redis.ttl(redis_key(stand_in, "t:k")) <= 30
    await store.complete(owner, RESPONSE, 600)
    assert 30 < await redis.ttl(redis_key(stand_in, "t:k")) <= 600
    await store.release(owner)  # a kept response is never released
    assert await store.begin("t:k", "fp", 30) == Replay(RESPONSE)


async def test_a_response_kept_without_its_body_replays_as_such(store: DaprIdempotencyStore) -> None:
    unkept = StoredResponse(200, (), None)
    await store.complete(await claim(store), unkept, 60)
    assert await store.begin("t:k", "fp", 30) == Replay(unkept)


async def test_only_the_owner_can_release_or_complete(store: DaprIdempotencyStore) -> None:
    owner = await claim(store)
    intruder = Claimed("t:k", "fp", "not-the-token")
    await store.release(intruder)
    await store.complete(intruder, RESPONSE, 60)
    assert await store.begin("t:k", "fp", 30) == InProgress()
    await store.release(owner)
    await claim(store)


async def test_a_claim_expires_with_its_lease(store: DaprIdempotencyStore, redis: Redis, stand_in: DaprStandIn) -> None:
    stale = await claim(store)
    await redis.delete(redis_key(stand_in, "t:k"))  # the lease ran out (Redis expired the key)
    await claim(store, fingerprint="a-new-request")
    await store.complete(stale, RESPONSE, 60)  # the lapsed owner writes nothing
    await store.release(stale)
    assert await store.begin("t:k", "a-new-request", 30) == InProgress()


async def test_concurrent_claims_have_exactly_one_winner(store: DaprIdempotencyStore) -> None:
    outcomes = await asyncio.gather(*(store.begin("t:k", "fp", 30) for _ in range(20)))
    assert sum(isinstance(outcome, Claimed) for outcome in outcomes) == 1
    assert outcomes.count(InProgress()) == 19


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
