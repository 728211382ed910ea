"""The SQLAlchemy repository and unit of work pass the shared contract on the real PostgreSQL (127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.testing.contract import RepositoryContract
from apibase.testing.sql import SqlWidgetHarness, widget_metadata

pytestmark = pytest.mark.integration


class TestPostgresRepository(RepositoryContract):
    @pytest.fixture
    async def harness(self, postgres_url: str) -> AsyncIterator[SqlWidgetHarness]:
        engine = create_engine(Settings(database_url=postgres_url))
        async with engine.begin() as connection:
            await connection.run_sync(widget_metadata.drop_all)
            await connection.run_sync(widget_metadata.create_all)
        yield SqlWidgetHarness(engine, create_session_factory(engine))
        async with engine.begin() as connection:
            await connection.run_sync(widget_metadata.drop_all)
        await engine.dispose()
