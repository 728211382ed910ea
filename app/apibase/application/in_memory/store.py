"""A bounded in-process key-value store with per-entry expiry, the default cache backend."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

__all__ = ["InMemoryStore"]


class InMemoryStore[K: Hashable, V]:
    """``Store[K, V]`` with LRU eviction beyond ``max_entries`` so a cache can never grow without bound."""

    def __init__(self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: OrderedDict[K, tuple[V, float | None]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    async def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at is not None and self._clock() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: K, value: V, *, ttl_seconds: float | None = None) -> None:
        expires_at = None if ttl_seconds is None else self._clock() + ttl_seconds
        self._entries[key] = (value, expires_at)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def delete(self, key: K) -> None:
        self._entries.pop(key, None)

    async def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
