"""The baseline of ``bench/http_bench.py``: plain FastAPI + SQLAlchemy doing the service's product queries.

No middleware, no envelopes, no problem handlers, no unit of work, repository, mapper or Result: one session
per request, the statement, a pydantic response model. It uses the service's own ``products`` table object
(same column types, so the same bind/result processing) and the service's engine factory (same pool size,
SQLite pragmas and pre-ping), so what the benchmark's ratio measures is the stack *above* the session.

Serve it like the service: ``uvicorn --factory bench.bare_app:create_app`` with ``APIBASE_DATABASE_URL`` set.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, status
from pydantic import BaseModel, Field, StrictBool
from sqlalchemy import Table, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from apibase.core.settings import load_settings
from apibase.infrastructure.persistence.database import create_engine
from shop.catalog.infrastructure.tables import ProductRow

__all__ = ["BareProduct", "BareProductIn", "BareProductPage", "create_app"]

products: Table = ProductRow.__table__  # type: ignore[assignment]


class BareProductIn(BaseModel):
    """The service's create constraints, written out by hand as a plain app would."""

    sku: str = Field(pattern=r"^[A-Z0-9-]{3,32}$")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    stock: int = Field(default=0, ge=0, le=1_000_000)
    active: StrictBool = True


class BareProduct(BaseModel):
    """The same fields as the service's v1 ``ProductOut`` (the service wraps it in ``{"data", "meta"}``)."""

    id: uuid.UUID
    sku: str
    name: str
    description: str | None
    price: Decimal
    currency: str
    stock: int
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class BareProductPage(BaseModel):
    items: list[BareProduct]
    offset: int
    limit: int
    total: int


def create_app() -> FastAPI:
    """Called once by uvicorn (``--factory``); the database URL comes from ``APIBASE_DATABASE_URL``."""
    engine = create_engine(load_settings())
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    live = products.c.deleted_at.is_(None)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="bare products", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/products/{product_id}")
    async def get_product(product_id: uuid.UUID) -> BareProduct:
        async with sessions() as session:
            statement = select(products).where(products.c.id == product_id, live)
            row = (await session.execute(statement)).first()
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "product not found")
        return BareProduct.model_validate(row, from_attributes=True)

    @app.get("/products")
    async def list_products(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> BareProductPage:
        # The service's first page: id order with NULLs last, one row more to tell "has next", and COUNT(*).
        async with sessions() as session:
            page = select(products).where(live).order_by(products.c.id.asc().nulls_last()).limit(limit + 1)
            rows = (await session.execute(page)).all()
            total = (await session.execute(select(func.count()).select_from(products).where(live))).scalar_one()
        items = [BareProduct.model_validate(row, from_attributes=True) for row in rows[:limit]]
        return BareProductPage(items=items, offset=0, limit=limit, total=total)

    @app.post("/products", status_code=status.HTTP_201_CREATED)
    async def create_product(data: BareProductIn) -> BareProduct:
        now = datetime.now(UTC)
        values = {
            "id": uuid.uuid4(),
            **data.model_dump(),
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        async with sessions() as session:
            try:
                await session.execute(insert(products), [values])
                await session.commit()
            except IntegrityError:
                raise HTTPException(status.HTTP_409_CONFLICT, "sku taken") from None
        return BareProduct.model_validate(values)

    return app
