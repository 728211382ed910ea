"""The SQLAlchemy repository and unit of work pass the shared contract on SQLite (aiosqlite, a temp file)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.testing.contract import RepositoryContract
from apibase.testing.sql import SqlWidgetHarness, widget_metadata

pytestmark = pytest.mark.unit


class TestSqliteRepository(RepositoryContract):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> AsyncIterator[SqlWidgetHarness]:
        engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"))
        async with engine.begin() as connection:
            await connection.run_sync(widget_metadata.create_all)
        yield SqlWidgetHarness(engine, create_session_factory(engine))
        await engine.dispose()
