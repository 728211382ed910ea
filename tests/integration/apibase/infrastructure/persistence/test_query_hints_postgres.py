"""Query hints on the real PostgreSQL (127.0.0.1), in a schema of their own: index hints are a no-op there."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.testing.postgres import scratch_engine
from apibase.testing.query_hints import QueryHintsContract, hints_metadata

pytestmark = pytest.mark.integration


class TestPostgresQueryHints(QueryHintsContract):
    @pytest.fixture
    async def engine(self, postgres_url: str) -> AsyncIterator[AsyncEngine]:
        async with scratch_engine(postgres_url, prefix="hints") as engine:
            async with engine.begin() as connection:
                await connection.run_sync(hints_metadata.create_all)
            yield engine
