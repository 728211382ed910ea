"""Tenant isolation of the SQL repositories on the real PostgreSQL, in a schema of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.infrastructure.persistence.schema import metadata
from apibase.testing.postgres import scratch_schema
from shop.testing.tenancy import TenantIsolationContract

pytestmark = pytest.mark.integration


@pytest.fixture
async def session_factory(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with scratch_schema(postgres_url, metadata, prefix="tenancy") as sessions:
        yield sessions


class TestTenantIsolationOnPostgres(TenantIsolationContract):
    pass
