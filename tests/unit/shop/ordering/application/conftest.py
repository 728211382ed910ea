"""Ordering handlers wired on SQLite (a temp file, tables from the metadata), with the SQL catalog beside them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cqrs import CommandBus, QueryBus
from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryEventPublisher
from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.schema import metadata
from shop.catalog.application import ProductCreate, ProductOut, ProductService
from shop.catalog.infrastructure import build_product_service
from shop.ordering.infrastructure import build_ordering


@pytest.fixture
async def session_factory(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'ordering.db'}"))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def codec() -> CursorCodec:
    return CursorCodec("ordering-tests-cursor-secret")


@pytest.fixture
def publisher() -> InMemoryEventPublisher:
    return InMemoryEventPublisher()


@pytest.fixture
def catalog(session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec) -> ProductService:
    return build_product_service(session_factory, cursor_codec=codec, cache=None)


@pytest.fixture
def buses(
    session_factory: async_sessionmaker[AsyncSession], codec: CursorCodec, publisher: InMemoryEventPublisher
) -> tuple[CommandBus, QueryBus]:
    return build_ordering(session_factory, cursor_codec=codec, publisher=publisher)


@pytest.fixture
def commands(buses: tuple[CommandBus, QueryBus]) -> CommandBus:
    return buses[0]


@pytest.fixture
def queries(buses: tuple[CommandBus, QueryBus]) -> QueryBus:
    return buses[1]


@pytest.fixture
def add_product(catalog: ProductService) -> Callable[..., Awaitable[ProductOut]]:
    async def add(
        sku: str, price: str = "10.00", *, stock: int = 10, currency: str = "EUR", active: bool = True
    ) -> ProductOut:
        data = ProductCreate(
            sku=sku, name=sku.title(), price=Decimal(price), stock=stock, currency=currency, active=active
        )
        return (await catalog.create(data)).unwrap()

    return add
