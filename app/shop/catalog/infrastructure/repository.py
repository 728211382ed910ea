"""The product repository: the generic SQL repository plus what a unique sku and domain events need.

A taken sku surfaces as ``DuplicateSkuError`` (409, ``catalog.duplicate_sku``) on every write path, and
``update`` applies the DTO through ``Product.revise`` so that price and availability changes record events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from apibase.core.errors import ConflictError, EntityNotFound, ValidationFailed
from apibase.infrastructure.persistence.orm import TENANT_COLUMN
from apibase.infrastructure.persistence.query_hints import QueryHints, columns_except
from apibase.infrastructure.persistence.repository import SQLAlchemyRepository
from shop.catalog.application.dto import ProductCreate, ProductUpdate
from shop.catalog.application.errors import DuplicateSkuError
from shop.catalog.application.service import PRODUCT_FIELDS
from shop.catalog.domain.product import Product, ProductId
from shop.catalog.infrastructure.mapper import ProductMapper
from shop.catalog.infrastructure.tables import ProductRow

__all__ = ["ProductRepository"]


class ProductRepository(SQLAlchemyRepository[Product, ProductRow, ProductCreate, ProductUpdate, ProductId]):
    mapper = ProductMapper()
    filterable_fields = PRODUCT_FIELDS
    sortable_fields = PRODUCT_FIELDS
    #: Every column but the tenant's: each statement already fixes it, and a product has no field for it.
    query_hints = QueryHints(columns=columns_except(ProductRow, TENANT_COLUMN))

    @asynccontextmanager
    async def _unique_sku(self, skus: Sequence[str]) -> AsyncIterator[None]:
        """A savepoint around the write, so that a unique-index violation leaves the transaction usable."""
        try:
            async with self._uow.session.begin_nested():
                yield
        except (IntegrityError, ConflictError) as exc:
            raise DuplicateSkuError(
                f"a product with sku {', '.join(skus)} already exists", extensions={"skus": list(skus)}
            ) from exc

    async def add(self, entity: Product) -> Product:
        async with self._unique_sku([entity.sku]):
            return await super().add(entity)

    async def create_many(self, data: Sequence[ProductCreate]) -> list[Product]:
        async with self._unique_sku([item.sku for item in data]):
            return await super().create_many(data)

    async def save(self, entity: Product) -> Product:
        async with self._unique_sku([entity.sku]):
            return await super().save(entity)

    async def update(
        self,
        entity_id: ProductId,
        data: ProductUpdate,
        *,
        expected_version: int | None = None,
        actor: str | None = None,
    ) -> Product:
        product = await self.get_by_id(entity_id)
        if product is None:
            raise EntityNotFound(f"Product {entity_id} does not exist")
        if expected_version is not None and product.version != expected_version:
            raise self._conflict(entity_id, product.version, expected_version)
        try:
            product.revise(data.model_dump(exclude_unset=True))
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc) from None
        product.record_editor(actor)
        return await self.save(product)
