"""The ordering permissions, declared by ordering itself (the kernel names no order anywhere)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from apibase.domain.identity.permissions import Permission, read_write

__all__ = ["ORDERING_PERMISSIONS", "ORDERS_READ", "ORDERS_WRITE", "REPORTS_READ"]

ORDERS_READ, ORDERS_WRITE = read_write("orders")
REPORTS_READ: Final = Permission.of("reports", "read")
ORDERING_PERMISSIONS: Final[Mapping[Permission, str]] = MappingProxyType(
    {
        ORDERS_READ: "List and read orders",
        ORDERS_WRITE: "Place orders and pay, ship, cancel or return them",
        REPORTS_READ: "Read the sales report (revenue by product or day)",
    }
)
