"""A throwaway PostgreSQL schema for one test: empty (for migrations) or with tables created from metadata, dropped
with everything in it after.

Tests against the shared ``test`` database use it so that parallel runs, other suites and the migration tests never
see each other's rows or tables.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import MetaData, pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from apibase.infrastructure.persistence.database import create_session_factory

__all__ = ["scratch_engine", "scratch_schema"]


@asynccontextmanager
async def scratch_engine(postgres_url: str, *, prefix: str = "test") -> AsyncIterator[AsyncEngine]:
    """An engine whose ``search_path`` is a new, empty schema."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(
        postgres_url, poolclass=pool.NullPool, connect_args={"server_settings": {"search_path": schema}}
    )
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield engine
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()


@asynccontextmanager
async def scratch_schema(
    postgres_url: str, metadata: MetaData, *, prefix: str = "test"
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions whose ``search_path`` is a new schema holding ``metadata``'s tables."""
    async with scratch_engine(postgres_url, prefix=prefix) as engine:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        yield create_session_factory(engine)
