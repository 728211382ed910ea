"""One bounded Redis pool per process: a burst through every user of it (rate limits, plain commands) never opens
more connections than ``redis_max_connections``, counted by the server (``CLIENT LIST`` by the service's name),
and the next burst reuses the same connections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from apibase.infrastructure.pools import ConnectionPools, PoolStatus
from apibase.infrastructure.rate_limiting import build_rate_limit_storage, close_rate_limit_storage
from apibase.testing.service import service_settings

pytestmark = pytest.mark.integration

LIMIT = 3


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def pools(tmp_path: Path, redis_url: str, admin: Redis) -> AsyncIterator[ConnectionPools]:
    name = f"pools-{uuid.uuid4().hex[:12]}"
    settings = service_settings(
        tmp_path / "r.db",
        service_name=name,
        redis_url=redis_url,
        pools={"redis_max_connections": LIMIT, "redis_wait_seconds": 0.2},
    )
    pools = ConnectionPools(settings)
    yield pools
    await pools.close()
    keys = [key async for key in admin.scan_iter(match=f"*{name}*")]
    if keys:
        await admin.delete(*keys)


async def connections_of(admin: Redis, pools: ConnectionPools) -> set[str]:
    """The ids of the server's clients named after the service (``CLIENT SETNAME`` on every pooled connection)."""
    return {client["id"] for client in await admin.client_list() if client["name"] == pools.settings.service_name}


async def test_a_burst_opens_at_most_the_pool_size_and_the_next_burst_reuses_them(
    pools: ConnectionPools, admin: Redis, redis_url: str
) -> None:
    name, redis = pools.settings.service_name, pools.redis
    assert redis is not None
    limits = build_rate_limit_storage(redis_url, key_prefix=name, connection_pool=pools.redis_pool)

    async def burst() -> None:
        await asyncio.gather(
            *(redis.incr(f"{name}:count") for _ in range(25)), *(limits.incr(f"{name}-hits", 60) for _ in range(25))
        )

    await burst()
    opened = await connections_of(admin, pools)
    assert len(opened) == LIMIT, f"{len(opened)} connections for a pool of {LIMIT}"
    assert pools.statuses()["redis"] == PoolStatus(limit=LIMIT, open=LIMIT, in_use=0, idle=LIMIT)

    await burst()
    assert await connections_of(admin, pools) == opened, "the second burst opened connections of its own"
    assert await redis.get(f"{name}:count") == b"50"

    await close_rate_limit_storage(limits)
    assert await redis.ping(), "closing the rate-limit storage leaves the shared pool open"


async def test_a_command_past_the_limit_waits_then_fails_clearly(pools: ConnectionPools) -> None:
    pool, redis = pools.redis_pool, pools.redis
    assert pool is not None
    assert redis is not None
    held = [await pool.get_connection() for _ in range(LIMIT)]  # type: ignore[no-untyped-call]  # three slow commands
    assert pools.statuses()["redis"].in_use == LIMIT

    with pytest.raises(RedisConnectionError, match="No connection available"):
        await redis.ping()  # waits redis_wait_seconds for one of the three, then gives up
    for connection in held:
        await pool.release(connection)
    assert await redis.ping()
