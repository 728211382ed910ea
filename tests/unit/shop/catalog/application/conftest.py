"""The product service wired on SQLite (a temp file, tables from the metadata)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryEventPublisher
from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.schema import metadata
from shop.catalog.application import ProductService
from shop.catalog.infrastructure import build_product_service


@pytest.fixture
def publisher() -> InMemoryEventPublisher:
    return InMemoryEventPublisher()


@pytest.fixture
async def service(tmp_path: Path, publisher: InMemoryEventPublisher) -> AsyncIterator[ProductService]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield build_product_service(
        create_session_factory(engine), cursor_codec=CursorCodec("catalog-tests-cursor-secret"), publisher=publisher
    )
    await engine.dispose()
