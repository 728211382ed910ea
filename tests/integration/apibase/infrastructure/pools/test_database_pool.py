"""The database pool against PostgreSQL: never more connections than ``pool_size + max_overflow``, counted by the
server (``pg_stat_activity`` by the service's ``application_name``), the overflow closed on return and the kept
connections reused."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.core.settings import DatabaseSettings, load_settings
from apibase.infrastructure.persistence.database import create_engine
from apibase.infrastructure.pools import PoolStatus
from apibase.infrastructure.pools.status import database_status

pytestmark = pytest.mark.integration

POOL_SIZE, OVERFLOW = 2, 1
OURS = "SELECT pid FROM pg_stat_activity WHERE application_name = :name"


@pytest.fixture
def name() -> str:
    """The service's name, which its connections carry as their ``application_name``."""
    return f"pools-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def engine(postgres_url: str, name: str) -> AsyncIterator[AsyncEngine]:
    pool = DatabaseSettings(pool_size=POOL_SIZE, max_overflow=OVERFLOW)
    engine = create_engine(load_settings(database_url=postgres_url, service_name=name, database=pool))
    yield engine
    await engine.dispose()


async def use(engine: AsyncEngine, name: str) -> tuple[int, int]:
    """This connection's server pid, and how many of the service's connections the server sees meanwhile."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(f"SELECT pg_backend_pid(), (SELECT count(*) FROM ({OURS}) AS ours)"),  # noqa: S608 - constant
                {"name": name},
            )
        ).one()
        return int(row[0]), int(row[1])


async def test_a_burst_of_twenty_opens_at_most_size_plus_overflow_and_keeps_the_size(
    engine: AsyncEngine, name: str
) -> None:
    seen = await asyncio.gather(*(use(engine, name) for _ in range(20)))

    assert max(count for _, count in seen) <= POOL_SIZE + OVERFLOW
    assert len({pid for pid, _ in seen}) <= POOL_SIZE + OVERFLOW
    async with engine.connect() as probe:  # the probe itself is one of the service's connections
        kept = set((await probe.execute(text(OURS), {"name": name})).scalars())
        assert len(kept) == POOL_SIZE, "the overflow connection outlived its use"
        assert database_status(engine.pool) == PoolStatus(limit=POOL_SIZE + OVERFLOW, open=2, in_use=1, idle=1)

    sequential = {pid for pid, _ in [await use(engine, name) for _ in range(6)]}
    assert sequential <= kept, "a sequential use opened a connection instead of reusing a kept one"
