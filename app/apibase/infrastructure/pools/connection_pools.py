"""Every pooled client to an external service, made once per process from settings and closed when it stops.

Adapters receive these clients instead of building their own: a client per request (or per adapter) would open
connections without bound and pay the TCP and TLS handshakes again each time. What is shared:

- ``redis``: one client over one bounded pool, used by rate limiting, idempotency keys and the replay cache;
- ``http(purpose)``: one ``httpx.AsyncClient`` per purpose (``outbound``: JWKS and calls to other services;
  ``log_shipping``), so a slow log cluster cannot take the connections a token check needs;
- ``dapr()``: one client of the Dapr sidecar (a gRPC channel, one multiplexed connection) for the secrets
  provider, the idempotency store and the events publisher that use it;
- the database engine and the broker connections are built by their owners and ``track``-ed here, so that every
  pool is read in one place (``statuses``, exported as ``connection_pool_*`` metrics).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import httpx
from redis.asyncio import BlockingConnectionPool, Redis

from apibase.core.settings import Settings
from apibase.infrastructure.pools.clients import build_http_client, build_redis_pool, redis_client
from apibase.infrastructure.pools.status import PoolStatus, http_status, redis_status

if TYPE_CHECKING:
    from apibase.infrastructure.dapr.client import DaprSidecar

__all__ = ["LOG_SHIPPING", "OUTBOUND", "ConnectionPools"]

#: The purpose of the HTTP client for token issuers' key sets and calls to other services.
OUTBOUND: Final = "outbound"
#: The purpose of the log shipper's HTTP client (``http_log_shipping`` in metrics).
LOG_SHIPPING: Final = "log_shipping"

type PoolReader = Callable[[], PoolStatus | None]


class ConnectionPools:
    """The process's shared clients (see the module docstring); ``close`` once, when the application stops."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._http: dict[str, httpx.AsyncClient] = {}
        self._readers: dict[str, PoolReader] = {}
        self._dapr: DaprSidecar | None = None
        self.redis_pool: BlockingConnectionPool | None = None
        self.redis: Redis | None = None
        if settings.redis_url is not None:
            pool = self.redis_pool = build_redis_pool(
                settings.redis_url, settings.pools, client_name=settings.service_name
            )
            self.redis = redis_client(pool)
            self.track("redis", lambda: redis_status(pool))
        self.track(_http_pool_name(OUTBOUND), lambda: self._http_status(OUTBOUND))

    def http(self, purpose: str = OUTBOUND) -> httpx.AsyncClient:
        """The client for ``purpose``, built on first use (its TLS set-up is not paid by services that never call
        out) and reported as pool ``http`` (``outbound``) or ``http_<purpose>``."""
        client = self._http.get(purpose)
        if client is None or client.is_closed:
            client = self._http[purpose] = build_http_client(self.settings.pools)
            name = _http_pool_name(purpose)
            if name not in self._readers:
                self.track(name, lambda: self._http_status(purpose))
        return client

    def dapr(self) -> DaprSidecar:
        """The sidecar client every Dapr adapter shares (the ``dapr`` extra, imported on first use)."""
        if self._dapr is None:
            from apibase.infrastructure.dapr.client import DaprSidecar  # noqa: PLC0415 - the extra

            self._dapr = DaprSidecar(self.settings.dapr)
            self.track("dapr", self._dapr.status)
        return self._dapr

    def track(self, name: str, read: PoolReader) -> None:
        """Report the pool ``read`` describes as ``connection_pool_*{pool=name}``; ``None`` readings are skipped."""
        self._readers[name] = read

    def statuses(self) -> dict[str, PoolStatus]:
        readings = {name: read() for name, read in self._readers.items()}
        return {name: status for name, status in readings.items() if status is not None}

    async def close(self) -> None:
        clients, self._http = list(self._http.values()), {}
        for client in clients:
            await client.aclose()
        if self.redis is not None and self.redis_pool is not None:
            await self.redis.aclose()
            await self.redis_pool.aclose()
        if self._dapr is not None:
            await self._dapr.close()  # reopened on the next use, like the pools above

    def _http_status(self, purpose: str) -> PoolStatus:
        return http_status(self._http.get(purpose), self.settings.pools.http_max_connections)


def _http_pool_name(purpose: str) -> str:
    return "http" if purpose == OUTBOUND else f"http_{purpose}"
