"""Query hints on SQLite (aiosqlite, a temp file): the shared scenarios of ``apibase.testing.query_hints``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine
from apibase.testing.query_hints import QueryHintsContract, hints_metadata

pytestmark = pytest.mark.unit


class TestSqliteQueryHints(QueryHintsContract):
    @pytest.fixture
    async def engine(self, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'query_hints.db'}"))
        async with engine.begin() as connection:
            await connection.run_sync(hints_metadata.create_all)
        yield engine
        await engine.dispose()
