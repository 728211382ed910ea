"""ProductRepository's query hints on SQLite: it reads every column but the tenant's, and ``hinted`` swaps them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from apibase.application.cursor import CursorCodec
from apibase.infrastructure.persistence.query_hints import QueryHints, use_index
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.catalog.application import ProductCreate
from shop.catalog.infrastructure import ProductRepository

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("in_tenant")]


async def test_products_load_without_their_tenant_and_a_hinted_copy_reads_the_same(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec
) -> None:
    sent: list[str] = []

    def capture(*args: object) -> None:
        if str(args[2]).startswith("SELECT"):
            sent.append(str(args[2]))

    async with SQLAlchemyUnitOfWork(session_factory) as uow:
        products = ProductRepository(uow, cursor_codec=codec)
        created = await products.create(ProductCreate(sku="MUG-001", name="Mug", price=Decimal("9.90")))
        hinted = products.hinted(QueryHints(indexes=(use_index("ix_products_live_name"),)))
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            listed = await products.get_page(limit=10)
            loaded = await hinted.get_by_id(created.id)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)

    assert [product.model_dump() for product in listed.items] == [created.model_dump()]
    assert loaded is not None
    assert loaded.model_dump() == created.model_dump()
    assert "products.tenant_id," not in sent[0].split("FROM")[0]
    assert "products.tenant_id" in sent[1].split("FROM")[0]  # the hinted copy's hints load every column
    assert products.query_hints is ProductRepository.query_hints
    assert hinted.query_hints.columns is None
