"""The in-memory store: expiry by TTL and LRU eviction keep a cache bounded."""

from __future__ import annotations

import pytest

from apibase.application.in_memory import InMemoryStore

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    store: InMemoryStore[str, int] = InMemoryStore(clock=clock)
    await store.set("short", 1, ttl_seconds=5)
    await store.set("forever", 2)
    clock.now = 4.9
    assert await store.get("short") == 1
    clock.now = 5.0
    assert await store.get("short") is None
    assert await store.get("forever") == 2
    assert len(store) == 1


async def test_least_recently_used_entries_are_evicted_beyond_the_bound() -> None:
    store: InMemoryStore[str, int] = InMemoryStore(max_entries=2)
    await store.set("a", 1)
    await store.set("b", 2)
    assert await store.get("a") == 1
    await store.set("c", 3)
    assert await store.get("b") is None
    assert (await store.get("a"), await store.get("c")) == (1, 3)


async def test_delete_and_clear() -> None:
    store: InMemoryStore[str, int] = InMemoryStore()
    await store.set("a", 1)
    await store.set("b", 2)
    await store.delete("a")
    await store.delete("missing")
    assert await store.get("a") is None
    await store.clear()
    assert len(store) == 0


def test_a_store_must_hold_something() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InMemoryStore[str, int](max_entries=0)
