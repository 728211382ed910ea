"""The subscription dispatcher and its inbox pass the shared contract on SQLite (aiosqlite, a temp file)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.testing.subscriptions import DispatcherContract, DispatcherHarness, create_dispatcher_tables

pytestmark = pytest.mark.unit


class TestSqliteDispatcher(DispatcherContract):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> AsyncIterator[DispatcherHarness]:
        engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"))
        async with engine.begin() as connection:
            await create_dispatcher_tables(connection)
        yield DispatcherHarness(create_session_factory(engine))
        await engine.dispose()
