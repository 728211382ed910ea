"""Catalog errors that need more than one product to detect, so the aggregate itself cannot raise them."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from apibase.core.errors import ConflictError
from shop.catalog.domain.errors import CatalogErrorCode

__all__ = ["DuplicateSkuError"]


class DuplicateSkuError(ConflictError):
    """Another live product already has this sku (a soft-deleted product's sku is free again)."""

    title = "Duplicate SKU"
    # ConflictError declares default_code without ClassVar[StrEnum], so mypy pins it to CommonErrorCode.
    default_code: ClassVar[StrEnum] = CatalogErrorCode.DUPLICATE_SKU
