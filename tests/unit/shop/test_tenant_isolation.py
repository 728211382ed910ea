"""Tenant isolation of the reference service's SQL repositories on SQLite (the same contract runs on PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.schema import metadata
from shop.testing.tenancy import TenantIsolationContract

pytestmark = pytest.mark.unit


@pytest.fixture
async def session_factory(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'tenancy.db'}"))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield create_session_factory(engine)
    await engine.dispose()


class TestTenantIsolationOnSqlite(TenantIsolationContract):
    pass
