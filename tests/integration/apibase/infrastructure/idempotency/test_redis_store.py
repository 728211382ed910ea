"""The Redis idempotency store against the real Redis on 127.0.0.1:6379; every test has its own key prefix."""

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from apibase.application.ports.idempotency import (
    Claimed,
    IdempotencyStore,
    IdempotencyUnavailable,
    Replay,
)
from apibase.infrastructure.idempotency import RedisIdempotencyStore
from apibase.interface.http.middleware.idempotency import IdempotencyMiddleware
from apibase.interface.http.problems import install_problem_handlers
from apibase.testing.idempotency import RESPONSE, IdempotencyStoreContract, claim

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("APIBASE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def prefix() -> str:
    return f"apibase-test-idem-{uuid.uuid4().hex}:"


@pytest.fixture
async def client(prefix: str) -> AsyncIterator[Redis]:
    redis = Redis.from_url(REDIS_URL)
    try:
        yield redis
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


@pytest.fixture
def store(client: Redis, prefix: str) -> RedisIdempotencyStore:
    return RedisIdempotencyStore(client, key_prefix=prefix)


class TestRedisIdempotencyStore(IdempotencyStoreContract):
    async def lapse(self, store: IdempotencyStore, key: str) -> None:
        await self.client.delete(f"{self.prefix}{key}")  # what Redis does when the PX lease runs out

    @pytest.fixture(autouse=True)
    def _server(self, client: Redis, prefix: str) -> None:
        self.client, self.prefix = client, prefix


async def test_leases_and_kept_responses_expire_by_px(store: RedisIdempotencyStore, client: Redis, prefix: str) -> None:
    owner = await claim(store)
    assert 0 < await client.pttl(f"{prefix}t:k") <= 30_000
    await store.complete(owner, RESPONSE, 600)
    assert 30_000 < await client.pttl(f"{prefix}t:k") <= 600_000


async def test_a_client_with_decoded_responses_works_too(client: Redis, prefix: str) -> None:
    decoded = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        store = RedisIdempotencyStore(decoded, key_prefix=prefix)
        await store.complete(await claim(store), RESPONSE, 60)
        assert await store.begin("t:k", "fp", 30) == Replay(RESPONSE)
    finally:
        await decoded.aclose()


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def counting_app(store: RedisIdempotencyStore, runs: list[int]) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(IdempotencyMiddleware, store=store, ttl_seconds=60)

    @app.post("/charges")
    async def charge() -> dict[str, int]:
        runs.append(1)
        await asyncio.sleep(0.2)
        return {"charge": len(runs)}

    return app


async def test_an_unreachable_redis_fails_keyed_requests_with_503() -> None:
    no_retries = Retry(NoBackoff(), retries=0)  # the client's default backoff would only make the test slow
    down = Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=0.5, retry=no_retries)
    store = RedisIdempotencyStore(down, key_prefix="unused:")
    runs: list[int] = []
    try:
        with pytest.raises(IdempotencyUnavailable):
            await store.release(Claimed("t:k", "fp", "token"))
        transport = httpx.ASGITransport(app=counting_app(store, runs))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            keyed = await http.post("/charges", json={}, headers={"Idempotency-Key": "k"})
            unkeyed = await http.post("/charges", json={})
    finally:
        await down.aclose()
    assert keyed.status_code == 503
    assert keyed.json()["code"] == "idempotency.unavailable"
    assert unkeyed.status_code == 200
    assert runs == [1]


async def test_through_the_middleware_a_concurrent_duplicate_runs_the_handler_once(
    store: RedisIdempotencyStore,
) -> None:
    runs: list[int] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=counting_app(store, runs)), base_url="http://t"
    ) as http:
        headers = {"Idempotency-Key": "charge-1"}
        first, second = await asyncio.gather(
            http.post("/charges", json={"amount": 5}, headers=headers),
            http.post("/charges", json={"amount": 5}, headers=headers),
        )
        replay = await http.post("/charges", json={"amount": 5}, headers=headers)
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    assert runs == [1]
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == {"charge": 1}
