"""Product ↔ row ↔ v1 response: every name is shared, so the generic mapper needs no transforms."""

from __future__ import annotations

from app.application.catalog.dto import ProductOut
from app.application.mapper import GenericMapper
from app.domain.catalog.product import Product
from app.infrastructure.persistence.catalog.tables import ProductRow

__all__ = ["ProductMapper"]


class ProductMapper(GenericMapper[Product, ProductRow, ProductOut]):
    pass
