"""Tenant isolation of the SQL repositories on the real PostgreSQL, in a schema of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.infrastructure.persistence.database import create_session_factory
from app.infrastructure.persistence.schema import metadata
from app.testing.tenancy import TenantIsolationContract

pytestmark = pytest.mark.integration


@pytest.fixture
async def session_factory(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    schema = f"tenancy_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(
        postgres_url, poolclass=pool.NullPool, connect_args={"server_settings": {"search_path": schema}}
    )
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await connection.execute(text(f'SET search_path TO "{schema}"'))
        await connection.run_sync(metadata.create_all)
    yield create_session_factory(engine)
    async with engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


class TestTenantIsolationOnPostgres(TenantIsolationContract):
    pass
