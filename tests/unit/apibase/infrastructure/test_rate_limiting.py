"""The rate-limit storage: memory without a URL, Redis under a key prefix with one, nothing else."""

from __future__ import annotations

import pytest
from limits.aio.storage import MemoryStorage, RedisStorage

from apibase.infrastructure.rate_limiting import DEFAULT_KEY_PREFIX, build_rate_limit_storage, close_rate_limit_storage

pytestmark = pytest.mark.unit


async def test_without_a_url_the_counters_live_in_memory() -> None:
    memory = build_rate_limit_storage()
    assert isinstance(memory, MemoryStorage)
    await close_rate_limit_storage(memory)  # no expiry task yet: nothing to cancel


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "async+redis://127.0.0.1:1/0", "rediss://127.0.0.1:1/0"])
async def test_a_redis_url_counts_in_redis_under_the_prefix(url: str) -> None:
    redis = build_rate_limit_storage(url)
    assert isinstance(redis, RedisStorage)
    assert redis.bridge.key_prefix == DEFAULT_KEY_PREFIX
    await close_rate_limit_storage(redis)


async def test_the_key_prefix_is_the_callers() -> None:
    redis = build_rate_limit_storage("redis://127.0.0.1:1/0", key_prefix="tenant-a")
    assert isinstance(redis, RedisStorage)
    assert redis.bridge.key_prefix == "tenant-a"
    await close_rate_limit_storage(redis)


def test_any_other_url_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="redis://"):
        build_rate_limit_storage("memcached://localhost")


async def test_closing_a_redis_storage_whose_client_cannot_be_closed_is_a_no_op(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redis = build_rate_limit_storage("redis://127.0.0.1:1/0")
    monkeypatch.setattr(redis.bridge, "storage", object())  # type: ignore[attr-defined]
    await close_rate_limit_storage(redis)
