"""The catalog on SQL: the products table, its mapper and repository, and the service factory."""

from __future__ import annotations

from app.infrastructure.persistence.catalog.mapper import ProductMapper
from app.infrastructure.persistence.catalog.repository import ProductRepository
from app.infrastructure.persistence.catalog.tables import ProductRow
from app.infrastructure.persistence.catalog.wiring import build_product_service, product_repository_factory

__all__ = ["ProductMapper", "ProductRepository", "ProductRow", "build_product_service", "product_repository_factory"]
