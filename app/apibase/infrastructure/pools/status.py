"""One reading of a connection pool, the same four figures for every kind of pool, read at scrape time.

``limit`` is the most connections the pool may open, ``open`` those open now, ``in_use`` those lent out and
``idle`` those open and waiting to be reused. A pool whose client is not built yet reads ``open == 0``.
"""

from __future__ import annotations

from typing import NamedTuple

import httpx
from redis.asyncio import ConnectionPool
from sqlalchemy.pool import Pool, QueuePool

__all__ = ["PoolStatus", "database_status", "http_status", "redis_status"]


class PoolStatus(NamedTuple):
    limit: int
    open: int
    in_use: int
    idle: int


def database_status(pool: Pool) -> PoolStatus | None:
    """A ``QueuePool``'s figures; ``None`` for pools that keep no queue (in-memory SQLite's ``StaticPool``)."""
    if not isinstance(pool, QueuePool):
        return None
    idle, in_use = pool.checkedin(), pool.checkedout()
    overflow = max(pool._max_overflow, 0)  # QueuePool has no public getter for it
    return PoolStatus(pool.size() + overflow, idle + in_use, in_use, idle)


def redis_status(pool: ConnectionPool) -> PoolStatus:
    (idle, _), (in_use, _) = pool.get_connection_count()
    return PoolStatus(pool.max_connections, idle + in_use, in_use, idle)


def http_status(client: httpx.AsyncClient | None, limit: int) -> PoolStatus:
    """``None``: the client is not built yet. httpx keeps its pool behind the transport, which has no getter."""
    if client is None:
        return PoolStatus(limit, 0, 0, 0)
    pool = getattr(client._transport, "_pool", None)  # httpx has no public view of its pool
    connections = list(getattr(pool, "connections", ()))
    idle = sum(1 for connection in connections if connection.is_idle())
    return PoolStatus(limit, len(connections), len(connections) - idle, idle)
