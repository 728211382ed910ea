"""The catalog's permissions, declared by the catalog itself (the kernel names no product anywhere)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from apibase.domain.identity.permissions import Permission, read_write

__all__ = ["CATALOG_PERMISSIONS", "PRODUCTS_DELETE", "PRODUCTS_READ", "PRODUCTS_WRITE"]

PRODUCTS_READ, PRODUCTS_WRITE = read_write("products")
PRODUCTS_DELETE: Final = Permission.of("products", "delete")
CATALOG_PERMISSIONS: Final[Mapping[Permission, str]] = MappingProxyType(
    {
        PRODUCTS_READ: "List and read products and their images",
        PRODUCTS_WRITE: "Create and change products and upload their images",
        PRODUCTS_DELETE: "Delete products",
    }
)
