"""A replay cache shared by every worker and replica: one ``SET NX`` per signed request in Redis.

The in-process cache lets a captured request be replayed once per process within the skew window; with the
nonce claimed in Redis, the first process to see it wins everywhere.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis
from redis.exceptions import RedisError

from apibase.core.errors import DependencyUnavailable

__all__ = ["RedisReplayCache"]


class RedisReplayCache:
    def __init__(self, client: Redis, *, key_prefix: str = "apibase:signed-nonce:") -> None:
        self._client = client
        self._prefix = key_prefix

    async def remember(self, key: str, ttl_seconds: float) -> bool:
        """True the first time ``key`` is seen within ``ttl_seconds``; False for a replay."""
        try:
            claimed = await self._client.set(self._prefix + key, b"1", nx=True, ex=max(1, math.ceil(ttl_seconds)))
        except RedisError as exc:
            raise DependencyUnavailable(
                "the replay cache (Redis) cannot be reached; signed requests are refused"
            ) from exc
        return bool(claimed)
