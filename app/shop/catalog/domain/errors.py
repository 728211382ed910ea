"""The catalog's error codes and the domain errors its aggregate raises.

Codes are public API (docs/error-codes.md); one error class per code keeps each code's HTTP status fixed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from apibase.core.error_codes import error_codes
from apibase.core.errors import BusinessRuleViolation, InvariantViolation

__all__ = [
    "CatalogErrorCode",
    "InsufficientStock",
    "InvalidStockQuantity",
    "ProductInactive",
    "StockLimitExceeded",
]


@error_codes("catalog")
class CatalogErrorCode(StrEnum):
    DUPLICATE_SKU = "catalog.duplicate_sku"
    PRODUCT_INACTIVE = "catalog.product_inactive"
    INSUFFICIENT_STOCK = "catalog.insufficient_stock"
    INVALID_STOCK_QUANTITY = "catalog.invalid_stock_quantity"
    STOCK_LIMIT_EXCEEDED = "catalog.stock_limit_exceeded"


class ProductInactive(BusinessRuleViolation):
    """An inactive product is kept for history but cannot be sold."""

    title = "Product inactive"
    default_code: ClassVar[StrEnum] = CatalogErrorCode.PRODUCT_INACTIVE


class InsufficientStock(BusinessRuleViolation):
    title = "Insufficient stock"
    default_code: ClassVar[StrEnum] = CatalogErrorCode.INSUFFICIENT_STOCK


class InvalidStockQuantity(InvariantViolation):
    title = "Invalid stock quantity"
    default_code: ClassVar[StrEnum] = CatalogErrorCode.INVALID_STOCK_QUANTITY


class StockLimitExceeded(InvariantViolation):
    title = "Stock limit exceeded"
    default_code: ClassVar[StrEnum] = CatalogErrorCode.STOCK_LIMIT_EXCEEDED
