"""The catalog's sales counters on SQLite: the order-event handlers, their SQL storage and the query that reads it."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from apibase.core.context import tenant
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.catalog.application.sales_counters import OrderStage
from shop.catalog.infrastructure.sales_counters import SqlSalesCounters, UnsupportedDatabaseError
from shop.testing.sales_counters import SalesCountersContract

pytestmark = pytest.mark.unit


class TestSalesCountersOnSqlite(SalesCountersContract):
    pass


async def test_a_database_without_the_shared_upsert_is_refused_by_name() -> None:
    """MySQL/MariaDB spell the upsert differently and return nothing from it: a clear error, not a wrong statement."""
    engine = create_async_engine("mysql+aiomysql://root@127.0.0.1/test")  # never connects: it only names the dialect
    counters = SqlSalesCounters(cast(SQLAlchemyUnitOfWork, SimpleNamespace(session=AsyncSession(engine))))
    token = tenant.set("default")
    try:
        with pytest.raises(UnsupportedDatabaseError, match="PostgreSQL or SQLite, not mysql"):
            await counters.move_order(uuid.uuid4(), OrderStage.PLACED, after=())
    finally:
        tenant.reset(token)
        await engine.dispose()
