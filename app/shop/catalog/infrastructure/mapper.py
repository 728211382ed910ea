"""Product ↔ row ↔ v1 response: every name is shared, so the generic mapper needs no transforms."""

from __future__ import annotations

from apibase.application.mapper import GenericMapper
from shop.catalog.application.dto import ProductOut
from shop.catalog.domain.product import Product
from shop.catalog.infrastructure.tables import ProductRow

__all__ = ["ProductMapper"]


class ProductMapper(GenericMapper[Product, ProductRow, ProductOut]):
    pass
