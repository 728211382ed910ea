"""Pooled clients against a client per call: operations/s and connections opened, side by side in one run.

Run with ``.venv/bin/python bench/pools_bench.py [--calls N] [--concurrency C] [--redis URL]`` (default Redis:
``APIBASE_TEST_REDIS_URL`` or ``redis://127.0.0.1:6379/0``).

- ``redis``: N ``INCR`` through ``ConnectionPools.redis`` (one bounded pool, the kernel's) against a
  ``Redis.from_url`` made and closed per call; connections counted by the server (``total_connections_received``).
- ``http``: N GETs through ``ConnectionPools.http()`` against an ``httpx.AsyncClient`` made and closed per call,
  on a loopback HTTP/1.1 keep-alive server that counts the connections it accepts.

C calls run at a time in both. The shared clients never open more than the pool sizes; the per-call clients open
one connection per call.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "app"))

import httpx  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from apibase.core.settings import load_settings  # noqa: E402
from apibase.infrastructure.pools import ConnectionPools  # noqa: E402

KEY = "apibase:bench:pools"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def run(calls: int, concurrency: int, call: Callable[[], Awaitable[object]]) -> float:
    """Seconds to make ``calls`` calls, ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    return time.perf_counter() - started


async def redis_rounds(url: str, calls: int, concurrency: int, pools: ConnectionPools) -> None:
    admin = Redis.from_url(url)
    shared = pools.redis
    assert shared is not None

    async def opened() -> int:
        return int((await admin.info("stats"))["total_connections_received"])

    async def per_call() -> None:
        client = Redis.from_url(url)
        try:
            await client.incr(KEY)
        finally:
            await client.aclose()

    for name, call in (("pooled", lambda: shared.incr(KEY)), ("per call", per_call)):
        before = await opened()
        seconds = await run(calls, concurrency, call)
        print(f"redis  {name:>8}: {calls / seconds:8.0f} ops/s, {await opened() - before:5d} connections opened")
    await admin.delete(KEY)
    await admin.aclose()


async def http_rounds(calls: int, concurrency: int, pools: ConnectionPools) -> None:
    accepted = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    shared = pools.http()

    async def per_call() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(url)

    for name, call in (("pooled", lambda: shared.get(url)), ("per call", per_call)):
        before = accepted
        seconds = await run(calls, concurrency, call)
        print(f"http   {name:>8}: {calls / seconds:8.0f} req/s, {accepted - before:5d} connections opened")
    await pools.close()
    server.close()
    await server.wait_closed()  # every client closed its connections, so the handlers end


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--redis", default=os.environ.get("APIBASE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    settings = load_settings(redis_url=args.redis, service_name="pools-bench")
    print(f"{args.calls} calls, {args.concurrency} at a time; pools: {settings.pools.model_dump()}")
    await redis_rounds(args.redis, args.calls, args.concurrency, ConnectionPools(settings))
    await http_rounds(args.calls // 4, args.concurrency, ConnectionPools(settings))


if __name__ == "__main__":
    asyncio.run(main())
