"""A TTL cache in front of any ``SecretsProvider``, so a hot path does not call Vault or AWS on every request.

Only successes are kept: a missing or unreachable secret is asked again next time, so a fix takes effect at
once. Concurrent misses for one name share one backend call (no stampede when the entry expires).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from apibase.application.ports.secrets import SecretsProvider

__all__ = ["CachedSecretsProvider"]


class CachedSecretsProvider:
    """Serves a value for ``ttl_seconds`` after it was read; ``invalidate`` drops one name or all."""

    def __init__(
        self, inner: SecretsProvider, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._inner = inner
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"CachedSecretsProvider({self._inner!r}, ttl_seconds={self._ttl!r}, cached={len(self._entries)})"

    async def get(self, name: str) -> str:
        if (value := self._fresh(name)) is not None:
            return value
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            if (value := self._fresh(name)) is not None:
                return value
            value = await self._inner.get(name)
            self._entries[name] = (self._clock() + self._ttl, value)
            return value

    @property
    def inner(self) -> SecretsProvider:
        """The backend behind the cache: a readiness check asks it, since a cached answer proves nothing."""
        return self._inner

    def invalidate(self, name: str | None = None) -> None:
        """Forget one cached value (e.g. after a rotation event) or, without a name, all of them."""
        if name is None:
            self._entries.clear()
        else:
            self._entries.pop(name, None)

    def _fresh(self, name: str) -> str | None:
        entry = self._entries.get(name)
        if entry is None:
            return None
        expires_at, value = entry
        if self._clock() >= expires_at:
            del self._entries[name]
            return None
        return value
