"""The product use cases: the generic CRUD flow, unchanged, over any product repository.

Everything product-specific lives below it: the aggregate records price and availability events when an edit
goes through ``Product.revise`` (the SQL repository's ``update`` does that), and the repository reports a taken
sku as ``DuplicateSkuError`` (409, ``catalog.duplicate_sku``), which the generic flow returns as ``Err``.
"""

from __future__ import annotations

from app.application.catalog.dto import ProductCreate, ProductOut, ProductUpdate
from app.application.service import GenericService
from app.domain.catalog.product import Product, ProductId

__all__ = ["PRODUCT_FIELDS", "ProductService"]

#: Fields clients may filter and sort products by (the repository's allowlists).
PRODUCT_FIELDS = frozenset({"id", "sku", "name", "price", "currency", "stock", "active", "created_at", "updated_at"})


class ProductService(GenericService[Product, ProductCreate, ProductUpdate, ProductOut, ProductId]):
    resource_name = "product"
