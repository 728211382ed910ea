"""The order's life cycle: placed, then paid, then shipped; cancelled from any state before shipping."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OrderStatus"]


class OrderStatus(StrEnum):
    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """Nothing leaves a final state: transitions only move forward."""
        return self in (OrderStatus.SHIPPED, OrderStatus.CANCELLED)
