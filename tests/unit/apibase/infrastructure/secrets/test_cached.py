"""CachedSecretsProvider: TTL, no caching of failures, one backend call for concurrent misses."""

from __future__ import annotations

import asyncio

import pytest

from apibase.application.ports.secrets import SecretNotFound, SecretsProvider
from apibase.infrastructure.secrets import CachedSecretsProvider

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Counting:
    def __init__(self) -> None:
        self.calls = 0
        self.value = "v1"
        self.fail = False

    def __repr__(self) -> str:
        return "Counting()"

    async def get(self, name: str) -> str:
        self.calls += 1
        await asyncio.sleep(0)
        if self.fail:
            raise SecretNotFound(f"{name} missing")
        return f"{name}={self.value}"


def test_is_a_secrets_provider() -> None:
    provider: SecretsProvider = CachedSecretsProvider(Counting(), ttl_seconds=1)
    assert "ttl_seconds=1" in repr(provider)


def test_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        CachedSecretsProvider(Counting(), ttl_seconds=0)


async def test_serves_from_cache_until_the_ttl_ends() -> None:
    inner, clock = Counting(), Clock()
    cache = CachedSecretsProvider(inner, ttl_seconds=10, clock=clock)
    assert await cache.get("a") == "a=v1"
    inner.value = "v2"
    clock.now = 9.9
    assert await cache.get("a") == "a=v1"
    clock.now = 10
    assert await cache.get("a") == "a=v2"
    assert inner.calls == 2


async def test_failures_are_not_cached() -> None:
    inner = Counting()
    inner.fail = True
    cache = CachedSecretsProvider(inner, ttl_seconds=10, clock=Clock())
    with pytest.raises(SecretNotFound):
        await cache.get("a")
    inner.fail = False
    assert await cache.get("a") == "a=v1"


async def test_concurrent_misses_share_one_call() -> None:
    inner = Counting()
    cache = CachedSecretsProvider(inner, ttl_seconds=10)
    values = await asyncio.gather(*(cache.get("a") for _ in range(20)))
    assert set(values) == {"a=v1"}
    assert inner.calls == 1


async def test_invalidate_one_or_all() -> None:
    inner = Counting()
    cache = CachedSecretsProvider(inner, ttl_seconds=10, clock=Clock())
    await cache.get("a")
    await cache.get("b")
    cache.invalidate("a")
    cache.invalidate("missing")
    await cache.get("a")
    await cache.get("b")
    assert inner.calls == 3
    cache.invalidate()
    await cache.get("b")
    assert inner.calls == 4
    assert "a=v1" not in repr(cache)
