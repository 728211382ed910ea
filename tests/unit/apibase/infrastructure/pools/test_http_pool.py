"""The shared HTTP client: built once per purpose, never more connections than ``http_max_connections``, reused.

Counted on a real HTTP/1.1 server on the loopback that holds its answers until ``LIMIT`` requests are in flight:
a pool that opened more connections than its limit would be seen accepting them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from apibase.core.settings import PoolSettings
from apibase.infrastructure.pools import LOG_SHIPPING, ConnectionPools, PoolStatus
from apibase.testing.service import service_settings

pytestmark = pytest.mark.unit

LIMIT = 4
CALLS = 16  # four times the limit, concurrently
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class CountingServer:
    """Accepts keep-alive connections and counts them; answers once ``LIMIT`` requests arrived together."""

    url: str = ""
    accepted: int = 0
    in_flight: int = 0
    full: asyncio.Event = field(default_factory=asyncio.Event)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.in_flight += 1
                if self.in_flight >= LIMIT:
                    self.full.set()
                async with asyncio.timeout(5):
                    await self.full.wait()
                self.in_flight -= 1
                writer.write(RESPONSE)
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass  # the client closed the connection
        finally:
            writer.close()


@asynccontextmanager
async def counting_server() -> AsyncIterator[CountingServer]:
    counting = CountingServer()
    server = await asyncio.start_server(counting.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    counting.url = f"http://127.0.0.1:{port}/"
    async with server:
        yield counting


@pytest.fixture
def pools(tmp_path: Path) -> ConnectionPools:
    sizes = PoolSettings(http_max_connections=LIMIT, http_max_keepalive_connections=LIMIT)
    return ConnectionPools(service_settings(tmp_path / "pools.db", pools=sizes))


async def test_concurrent_calls_open_the_limit_and_the_next_round_reuses_them(pools: ConnectionPools) -> None:
    client = pools.http()
    assert pools.http() is client, "one client per purpose, not one per call"
    async with counting_server() as server:
        first = await asyncio.gather(*(client.get(server.url) for _ in range(CALLS)))
        assert server.accepted == LIMIT
        assert pools.statuses()["http"] == PoolStatus(limit=LIMIT, open=LIMIT, in_use=0, idle=LIMIT)

        second = await asyncio.gather(*(client.get(server.url) for _ in range(CALLS)))

        assert server.accepted == LIMIT, "the second round opened connections instead of reusing the idle ones"
        await pools.close()  # before the server stops: it waits for its connections to end
    assert {response.status_code for response in (*first, *second)} == {200}


async def test_each_purpose_has_its_own_pool_reported_once_built(pools: ConnectionPools) -> None:
    assert pools.statuses() == {"http": PoolStatus(limit=LIMIT, open=0, in_use=0, idle=0)}

    shipping = pools.http(LOG_SHIPPING)

    assert shipping is not pools.http()
    assert set(pools.statuses()) == {"http", "http_log_shipping"}
    await pools.close()


async def test_closing_closes_every_client_and_a_later_use_builds_a_new_one(pools: ConnectionPools) -> None:
    outbound, shipping = pools.http(), pools.http(LOG_SHIPPING)

    await pools.close()

    assert outbound.is_closed
    assert shipping.is_closed
    assert pools.http() is not outbound
    await pools.close()
