"""The catalog domain: products, their prices and their stock."""

from __future__ import annotations

from shop.catalog.domain.errors import (
    CatalogErrorCode,
    InsufficientStock,
    InvalidStockQuantity,
    ProductInactive,
    StockLimitExceeded,
)
from shop.catalog.domain.events import ProductActivated, ProductDeactivated, ProductOutOfStock, ProductPriceChanged
from shop.catalog.domain.product import (
    CURRENCY_PATTERN,
    MAX_STOCK,
    PRICE_PATTERN,
    SKU_PATTERN,
    CurrencyCode,
    Price,
    Product,
    ProductId,
    Sku,
)

__all__ = [
    "CURRENCY_PATTERN",
    "MAX_STOCK",
    "PRICE_PATTERN",
    "SKU_PATTERN",
    "CatalogErrorCode",
    "CurrencyCode",
    "InsufficientStock",
    "InvalidStockQuantity",
    "Price",
    "Product",
    "ProductActivated",
    "ProductDeactivated",
    "ProductId",
    "ProductInactive",
    "ProductOutOfStock",
    "ProductPriceChanged",
    "Sku",
    "StockLimitExceeded",
]
