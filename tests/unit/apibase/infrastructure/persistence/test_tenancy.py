"""Tenant isolation of the SQL repositories on SQLite (the same contract runs on PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.schema import metadata
from apibase.infrastructure.persistence.tenancy import TenantRequired, required_tenant, tenant_scope
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


def test_tenant_scope_binds_and_restores() -> None:
    with pytest.raises(TenantRequired):
        required_tenant()
    with tenant_scope("acme"):
        assert required_tenant() == "acme"
        with tenant_scope("globex"):
            assert required_tenant() == "globex"
        assert required_tenant() == "acme"
    with pytest.raises(TenantRequired):
        required_tenant()


@pytest.mark.parametrize("bad", ["", "Acme", "a b", "-x", "x" * 64, "../etc"])
def test_tenant_scope_refuses_malformed_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="tenant id"), tenant_scope(bad):
        pass
