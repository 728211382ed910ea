"""The shared replay cache on the real Redis: a nonce is accepted once across every process, then expires."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from apibase.core.errors import DependencyUnavailable
from apibase.infrastructure.crypto.errors import SignatureReplayed
from apibase.infrastructure.crypto.redis_replay_cache import RedisReplayCache
from apibase.infrastructure.crypto.request_signing import RequestSigner, RequestVerifier, SigningKey

pytestmark = pytest.mark.integration

KEY = SigningKey("orders", b"k" * 32)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


async def test_two_verifiers_sharing_redis_accept_a_signed_request_once(redis: Redis) -> None:
    prefix = f"test:nonce:{uuid.uuid4().hex}:"
    first = RequestVerifier([KEY], replay_cache=RedisReplayCache(redis, key_prefix=prefix))
    second = RequestVerifier([KEY], replay_cache=RedisReplayCache(redis, key_prefix=prefix))
    headers = RequestSigner(KEY).sign("POST", "/internal/v1/orders", b"{}")
    try:
        assert await first.verify("POST", "/internal/v1/orders", headers, b"{}") == "orders"
        with pytest.raises(SignatureReplayed):
            await second.verify("POST", "/internal/v1/orders", headers, b"{}")
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)


async def test_a_nonce_expires_with_the_window(redis: Redis) -> None:
    cache = RedisReplayCache(redis, key_prefix=f"test:nonce:{uuid.uuid4().hex}:")
    assert await cache.remember("n1", 1)
    assert not await cache.remember("n1", 1)
    await asyncio.sleep(1.1)
    assert await cache.remember("n1", 1)


async def test_redis_down_refuses_instead_of_accepting_replays() -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        with pytest.raises(DependencyUnavailable):
            await RedisReplayCache(client).remember("n", 5)
    finally:
        await client.aclose()
