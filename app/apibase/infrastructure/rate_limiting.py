"""Where rate-limit counters live: process memory for a single worker, or Redis so every worker and replica shares
one budget.

The rate-limit middleware only counts; which storage it counts in is infrastructure, chosen by the composition
root from ``APIBASE_REDIS_URL`` and closed at shutdown.
"""

from __future__ import annotations

from typing import Any, Final

from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from redis.asyncio import ConnectionPool

__all__ = ["DEFAULT_KEY_PREFIX", "build_rate_limit_storage", "close_rate_limit_storage"]

#: Every counter key starts with this, so the counters never collide with other data in a shared Redis.
DEFAULT_KEY_PREFIX: Final = "apibase:ratelimit"

_REDIS_SCHEMES: Final = ("redis://", "rediss://", "redis+unix://")


def build_rate_limit_storage(
    url: str | None = None, *, key_prefix: str = DEFAULT_KEY_PREFIX, connection_pool: ConnectionPool | None = None
) -> Storage:
    """In-memory storage without a URL, else a Redis storage (redis-py client) under ``key_prefix``, on
    ``connection_pool`` when given (the process's shared pool; closing the storage then leaves it open).

    Any other URL is a ``ValueError`` at start-up: counting nowhere would silently switch the limits off.
    """
    if url is None:
        return MemoryStorage()
    redis_url = url.removeprefix("async+")
    if not redis_url.startswith(_REDIS_SCHEMES):
        raise ValueError("the rate-limit storage must be a redis:// or rediss:// URL (or None to count in memory)")
    uri = f"async+{redis_url}"
    if connection_pool is None:
        return RedisStorage(uri, implementation="redispy", key_prefix=key_prefix, wrap_exceptions=True)
    # limits documents ``connection_pool`` but types its options as scalars.
    pool: Any = connection_pool
    return RedisStorage(
        uri, implementation="redispy", key_prefix=key_prefix, wrap_exceptions=True, connection_pool=pool
    )


async def close_rate_limit_storage(storage: Storage) -> None:
    """Release the storage's connections (Redis) or its expiry task (memory); call it at shutdown."""
    if isinstance(storage, RedisStorage):
        client = getattr(storage.bridge, "storage", None)
        aclose = getattr(client, "aclose", None)
        if callable(aclose):
            await aclose()
    elif isinstance(storage, MemoryStorage) and storage.timer is not None:
        storage.timer.cancel()
