"""Against the real Redis on 127.0.0.1:6379: two workers (two middleware instances) share one budget."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from limits.aio.storage import Storage

from apibase.infrastructure.rate_limiting import build_rate_limit_storage, close_rate_limit_storage
from apibase.interface.http.middleware.rate_limit import RateLimitMiddleware, RateLimitSettings
from apibase.interface.http.problems import install_problem_handlers

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("APIBASE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["moving-window", "fixed-window"])
def settings(request: pytest.FixtureRequest) -> RateLimitSettings:
    return RateLimitSettings(
        client_limit="3/minute",
        route_limits={"/api/v1/auth/*": "1/minute"},
        strategy=request.param,
    )


@pytest.fixture
def key_prefix() -> str:
    return f"apibase-test-{uuid.uuid4().hex}"  # unique per test: parallel runs never share counters


@pytest.fixture
async def storages(key_prefix: str) -> AsyncIterator[list[Storage]]:
    """One storage (one Redis connection pool) per worker, as separate processes would have."""
    workers = [build_rate_limit_storage(REDIS_URL, key_prefix=key_prefix) for _ in range(2)]
    yield workers
    await workers[0].reset()  # deletes every key under the test's prefix
    for storage in workers:
        await close_rate_limit_storage(storage)


def worker(settings: RateLimitSettings, storage: Storage) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RateLimitMiddleware, settings=settings, storage=storage)

    @app.get("/api/v1/items")
    async def items() -> list[int]:
        return [1]

    @app.post("/api/v1/auth/token")
    async def token() -> dict[str, str]:
        return {"token": "t"}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.1.2.3", 1234)), base_url="http://t")


async def test_two_workers_share_the_client_limit(settings: RateLimitSettings, storages: list[Storage]) -> None:
    async with client(worker(settings, storages[0])) as first, client(worker(settings, storages[1])) as second:
        statuses = [
            (await first.get("/api/v1/items")).status_code,
            (await second.get("/api/v1/items")).status_code,
            (await first.get("/api/v1/items")).status_code,
        ]
        refused = await second.get("/api/v1/items")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "common.rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-remaining"] == "0"


async def test_two_workers_share_a_route_limit(settings: RateLimitSettings, storages: list[Storage]) -> None:
    async with client(worker(settings, storages[0])) as first, client(worker(settings, storages[1])) as second:
        assert (await first.post("/api/v1/auth/token")).status_code == 200
        assert (await second.post("/api/v1/auth/token")).status_code == 429


async def test_the_counters_live_under_the_key_prefix(
    settings: RateLimitSettings, storages: list[Storage], key_prefix: str
) -> None:
    import redis.asyncio as redis

    async with client(worker(settings, storages[0])) as http:
        assert (await http.get("/api/v1/items")).status_code == 200
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        keys = await connection.keys(f"{key_prefix}*")
    finally:
        await connection.aclose()
    assert keys  # and the fixture's reset() removes them
