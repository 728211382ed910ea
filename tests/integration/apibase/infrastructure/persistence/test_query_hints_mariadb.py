"""Query hints on the real MariaDB (127.0.0.1:3306, root without a password), where index hints are SQL.

Each test gets a database of its own, dropped after it. Override the server with APIBASE_TEST_MARIADB_URL (an
``aiomysql`` URL without a database name).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from apibase.infrastructure.persistence.query_builder import QueryBuilder
from apibase.infrastructure.persistence.query_hints import QueryHints, force_index, ignore_index
from apibase.testing.query_hints import AuthorRow, QueryHintsContract, hints_metadata

pytestmark = pytest.mark.integration

MARIADB_URL = os.environ.get("APIBASE_TEST_MARIADB_URL", "mysql+aiomysql://root@127.0.0.1:3306")


class TestMariaDbQueryHints(QueryHintsContract):
    @pytest.fixture
    async def engine(self) -> AsyncIterator[AsyncEngine]:
        database = f"hints_{uuid.uuid4().hex[:12]}"
        server = create_async_engine(MARIADB_URL, poolclass=pool.NullPool)
        async with server.begin() as connection:
            await connection.execute(text(f"CREATE DATABASE {database}"))
        engine = create_async_engine(f"{MARIADB_URL}/{database}", poolclass=pool.NullPool)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(hints_metadata.create_all)
            yield engine
        finally:
            await engine.dispose()
            async with server.begin() as connection:
                await connection.execute(text(f"DROP DATABASE IF EXISTS {database}"))
            await server.dispose()

    async def test_the_server_takes_the_index_it_is_told(self, session: AsyncSession) -> None:
        """``EXPLAIN`` names the forced index as the key read, and no key once every index is ignored."""
        authors = QueryBuilder(AuthorRow).where(AuthorRow.name > "A")
        forced = authors.hints(QueryHints(indexes=(force_index("ix_qh_authors_name"),))).build()
        ignored = authors.hints(QueryHints(indexes=(ignore_index("ix_qh_authors_name", "PRIMARY"),))).build()

        keys = []
        for statement in (forced, ignored):
            compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            plan = (await session.execute(text(f"EXPLAIN {compiled}"))).mappings().one()
            keys.append(plan["key"])

        assert keys == ["ix_qh_authors_name", None]
