"""DB pool gauges against PostgreSQL (asyncpg, AsyncAdaptedQueuePool): size, in use, idle and overflow."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from apibase.infrastructure.observability.metrics import Metrics

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(postgres_url, pool_size=2, max_overflow=3)
    yield engine
    await engine.dispose()


def pool_gauges(metrics: Metrics) -> dict[str, float]:
    body, _ = metrics.render(None)
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name.startswith("db_pool_") and sample.labels == {"pool": "postgres"}
    }


async def test_pool_gauges_report_connections_in_use_and_overflow(engine: AsyncEngine) -> None:
    metrics = Metrics()
    metrics.track_database(engine, name="postgres")
    before = pool_gauges(metrics)

    async with engine.connect() as first, engine.connect() as second, engine.connect() as third:
        for connection in (first, second, third):
            await connection.execute(text("SELECT 1"))
        busy = pool_gauges(metrics)
    after = pool_gauges(metrics)

    assert before == {"db_pool_size": 2, "db_pool_checked_in": 0, "db_pool_checked_out": 0, "db_pool_overflow": 0}
    assert busy == {"db_pool_size": 2, "db_pool_checked_in": 0, "db_pool_checked_out": 3, "db_pool_overflow": 1}
    # The overflow connection is closed on return; the pool keeps its two.
    assert after == {"db_pool_size": 2, "db_pool_checked_in": 2, "db_pool_checked_out": 0, "db_pool_overflow": 0}
