"""Catalog use cases: product DTOs (v1 and v2), the product service and its errors."""

from __future__ import annotations

from shop.catalog.application.dto import (
    MoneyOut,
    ProductCreate,
    ProductCreateV2,
    ProductOut,
    ProductOutV1,
    ProductOutV2,
    ProductUpdate,
    ProductUpdateV2,
)
from shop.catalog.application.errors import DuplicateSkuError
from shop.catalog.application.service import PRODUCT_FIELDS, ProductService

__all__ = [
    "PRODUCT_FIELDS",
    "DuplicateSkuError",
    "MoneyOut",
    "ProductCreate",
    "ProductCreateV2",
    "ProductOut",
    "ProductOutV1",
    "ProductOutV2",
    "ProductService",
    "ProductUpdate",
    "ProductUpdateV2",
]
