"""The catalog's sales counters on the real PostgreSQL (its upserts and conditional moves), in a schema of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.infrastructure.persistence.schema import metadata
from apibase.testing.postgres import scratch_schema
from shop.testing.sales_counters import SalesCountersContract

pytestmark = pytest.mark.integration


@pytest.fixture
async def session_factory(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with scratch_schema(postgres_url, metadata, prefix="sales") as sessions:
        yield sessions


class TestSalesCountersOnPostgres(SalesCountersContract):
    pass
