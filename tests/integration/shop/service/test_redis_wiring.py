"""The composition root on the real Redis (127.0.0.1:6379): two service instances share rate-limit budgets and
idempotency keys there, and readiness reports Redis.

Redis is shared with other tests and sessions, so each test counts under a client network of its own (the
rate-limit keys carry the client IP; their prefix is fixed), with no per-user limit (its keys would carry user
ids), and under a tenant of its own (idempotency keys start with the tenant), and deletes exactly those keys.
Both instances use one SQLite file, as replicas use one database; the checks on Redis's own keys prove the
sharing happened there and not in the database.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from redis.asyncio import Redis

from apibase.core.settings import AuthSettings, IdempotencySettings, RateLimitSection, Settings
from apibase.testing.service import FAST_AUTH, service_settings, sign_up

pytestmark = pytest.mark.integration

RATE_LIMIT_KEYS = "apibase:ratelimit"
IDEMPOTENCY_KEYS = "apibase:idempotency:"
PRODUCT = {"sku": "REDIS-001", "name": "Shared kettle", "price": {"amount": "24.50", "currency": "EUR"}, "stock": 3}


class Running(Protocol):
    """What the package conftest's ``launch`` returns."""

    @property
    def http(self) -> httpx.AsyncClient: ...


class Launcher(Protocol):
    async def __call__(self, settings: Settings, *, client_ip: str = ...) -> Running: ...


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def _keys(redis: Redis, pattern: str) -> list[bytes]:
    return [key async for key in redis.scan_iter(match=pattern, count=1000)]


@pytest.fixture
async def network(redis: Redis) -> AsyncIterator[str]:
    """``10.a.b``: this test's clients are ``10.a.b.*``; their rate-limit counters are deleted afterwards."""
    prefix = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    yield prefix
    created = await _keys(redis, f"{RATE_LIMIT_KEYS}*/{prefix}.*")
    if created:
        await redis.delete(*created)


@pytest.fixture
async def tenant(redis: Redis) -> AsyncIterator[str]:
    """A tenant of this test's own; its idempotency keys are deleted afterwards."""
    name = f"it-{uuid.uuid4().hex[:12]}"
    yield name
    created = await _keys(redis, f"{IDEMPOTENCY_KEYS}{name}:*")
    if created:
        await redis.delete(*created)


async def test_two_instances_share_one_client_budget(
    launch: Launcher, tmp_path: Path, redis_url: str, redis: Redis, network: str
) -> None:
    limits = RateLimitSection(client_limit="5/minute", user_limit=None)
    settings = service_settings(tmp_path / "service.db", redis_url=redis_url, rate_limit=limits)
    first = await launch(settings, client_ip=f"{network}.1")
    second = await launch(settings, client_ip=f"{network}.1")

    answers = [await first.http.get("/.well-known/jwks.json") for _ in range(3)]
    answers += [await second.http.get("/.well-known/jwks.json") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    refused = answers[-1]
    assert refused.json()["code"] == "common.rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert answers[4].headers["ratelimit-remaining"] == "0"
    assert await _keys(redis, f"{RATE_LIMIT_KEYS}*/client/{network}.1/*")
    other_client = await launch(settings, client_ip=f"{network}.2")
    assert (await other_client.http.get("/.well-known/jwks.json")).status_code == 200


async def test_a_keyed_post_runs_once_across_instances(
    launch: Launcher, tmp_path: Path, redis_url: str, redis: Redis, network: str, tenant: str, signing_pem: str
) -> None:
    key_file = tmp_path / "signing-key.pem"
    key_file.write_text(signing_pem)  # one signing key, so the second instance accepts the first one's token
    auth = AuthSettings(**{**FAST_AUTH.model_dump(), "signing_key_file": key_file})
    settings = service_settings(
        tmp_path / "service.db",
        redis_url=redis_url,
        auth=auth,
        idempotency=IdempotencySettings(backend="redis"),
        rate_limit=RateLimitSection(user_limit=None),
    )
    first = await launch(settings, client_ip=f"{network}.1")
    second = await launch(settings, client_ip=f"{network}.1")
    admin = await sign_up(first.http, tenant=tenant)
    keyed = {**admin, "X-Tenant-ID": tenant, "Idempotency-Key": str(uuid.uuid4())}

    created = await first.http.post("/api/v2/products", json=PRODUCT, headers=keyed)
    replayed = await second.http.post("/api/v2/products", json=PRODUCT, headers=keyed)

    assert created.status_code == 201, created.text
    assert created.headers["idempotent-replayed"] == "false"
    assert (replayed.status_code, replayed.headers["idempotent-replayed"]) == (201, "true")
    assert replayed.json() == created.json()
    listed = await second.http.get("/api/v2/products", headers={**admin, "X-Tenant-ID": tenant})
    assert [item["id"] for item in listed.json()["items"]] == [created.json()["data"]["id"]]
    assert len(await _keys(redis, f"{IDEMPOTENCY_KEYS}{tenant}:*")) == 1


async def test_readiness_reports_redis(launch: Launcher, tmp_path: Path, redis_url: str) -> None:
    running = await launch(service_settings(tmp_path / "service.db", redis_url=redis_url))
    ready = await running.http.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["redis"]["status"] == "ok"


async def test_readiness_fails_when_redis_is_down(launch: Launcher, tmp_path: Path, unused_port: int) -> None:
    running = await launch(service_settings(tmp_path / "service.db", redis_url=f"redis://127.0.0.1:{unused_port}/0"))
    ready = await running.http.get("/health/ready")
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["code"] == "common.dependency_unavailable"
    assert body["checks"]["redis"]["status"] == "failed"
    assert body["checks"]["database"]["status"] == "ok"  # one dependency down never drags the others
    assert (await running.http.get("/health/live")).status_code == 200
