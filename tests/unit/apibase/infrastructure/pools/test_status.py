"""Pool readings: a queue pool reports its limit as size plus overflow; a pool without a queue reports nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import StaticPool

from apibase.infrastructure.pools import PoolStatus
from apibase.infrastructure.pools.status import database_status

pytestmark = pytest.mark.unit


async def test_a_queue_pool_reports_size_plus_overflow_as_its_limit(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 's.db'}", pool_size=3, max_overflow=2)
    async with engine.connect():
        assert database_status(engine.pool) == PoolStatus(limit=5, open=1, in_use=1, idle=0)
    assert database_status(engine.pool) == PoolStatus(limit=5, open=1, in_use=0, idle=1)
    await engine.dispose()


async def test_a_pool_without_a_queue_is_not_reported() -> None:
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=StaticPool)
    assert database_status(engine.pool) is None
    await engine.dispose()
