"""The product use cases: the generic CRUD flow, unchanged, over any product repository.

Everything product-specific lives below it: the aggregate records price and availability events when an edit
goes through ``Product.revise`` (the SQL repository's ``update`` does that), and the repository reports a taken
sku as ``DuplicateSkuError`` (409, ``catalog.duplicate_sku``), which the generic flow returns as ``Err``.
"""

from __future__ import annotations

from apibase.application.ports.service import Service
from apibase.application.service import GenericService
from shop.catalog.application.dto import (
    ProductCreate,
    ProductCreateV2,
    ProductOut,
    ProductOutV2,
    ProductUpdate,
    ProductUpdateV2,
)
from shop.catalog.domain.product import Product, ProductId

__all__ = ["PRODUCT_FIELDS", "ProductService", "ProductServiceV1", "ProductServiceV2"]

#: Fields clients may filter and sort products by (the repository's allowlists).
PRODUCT_FIELDS = frozenset({"id", "sku", "name", "price", "currency", "stock", "active", "created_at", "updated_at"})


class ProductService(GenericService[Product, ProductCreate, ProductUpdate, ProductOut, ProductId]):
    resource_name = "product"


type ProductServiceV1 = Service[Product, ProductCreate, ProductUpdate, ProductOut, ProductId]
#: v2 on the same service as v1: its requests translated to v1's, its responses derived from v1's.
type ProductServiceV2 = Service[Product, ProductCreateV2, ProductUpdateV2, ProductOutV2, ProductId]
