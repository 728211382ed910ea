"""QueryBuilder on the real PostgreSQL (127.0.0.1): the shared scenarios of ``apibase.testing.query_builder``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine
from apibase.testing.query_builder import QueryBuilderContract, query_metadata

pytestmark = pytest.mark.integration


class TestPostgresQueryBuilder(QueryBuilderContract):
    @pytest.fixture
    async def engine(self, postgres_url: str) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(Settings(database_url=postgres_url))
        async with engine.begin() as connection:
            await connection.run_sync(query_metadata.drop_all)
            await connection.run_sync(query_metadata.create_all)
        yield engine
        async with engine.begin() as connection:
            await connection.run_sync(query_metadata.drop_all)
        await engine.dispose()
