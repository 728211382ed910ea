"""The shared clients, each over one bounded pool sized by ``PoolSettings``.

Redis: a ``BlockingConnectionPool``: past ``redis_max_connections`` a command waits (up to ``redis_wait_seconds``)
for a connection to come back instead of opening another or failing at once, so a burst of requests can never
open more connections than the setting allows. Connections carry the service name (``CLIENT SETNAME``), which is
how ``CLIENT LIST`` tells this service's connections apart.

HTTP: one ``httpx.AsyncClient`` whose pool holds at most ``http_max_connections`` (a request past it waits for
one, within the pool timeout) and keeps ``http_max_keepalive_connections`` idle ones for reuse.
"""

from __future__ import annotations

from typing import Final

import httpx
from redis.asyncio import BlockingConnectionPool, Redis

from apibase.core.settings import PoolSettings

__all__ = ["REDIS_TIMEOUT_SECONDS", "build_http_client", "build_redis_pool", "redis_client"]

#: A Redis that does not answer must cost a request one second, not the client's default retry backoff.
REDIS_TIMEOUT_SECONDS: Final = 1.0


def build_redis_pool(url: str, pools: PoolSettings, *, client_name: str) -> BlockingConnectionPool:
    return BlockingConnectionPool.from_url(
        url,
        max_connections=pools.redis_max_connections,
        timeout=pools.redis_wait_seconds,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        client_name=client_name,
    )


def redis_client(pool: BlockingConnectionPool) -> Redis:
    """A client over ``pool``; closing it leaves the pool open (its owner closes the pool)."""
    return Redis(connection_pool=pool)


def build_http_client(pools: PoolSettings) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=pools.http_max_connections,
        max_keepalive_connections=pools.http_max_keepalive_connections,
        keepalive_expiry=pools.http_keepalive_seconds,
    )
    return httpx.AsyncClient(limits=limits, timeout=pools.http_timeout_seconds)
