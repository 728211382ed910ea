"""A key-value store port, for caches (query results, service reads) with per-entry expiry."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Store"]


class Store[K, V](Protocol):
    async def get(self, key: K) -> V | None: ...

    async def set(self, key: K, value: V, *, ttl_seconds: float | None = None) -> None: ...

    async def delete(self, key: K) -> None: ...

    async def clear(self) -> None: ...
