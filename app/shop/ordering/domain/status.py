"""The order's life cycle: placed, then paid, then shipped, then possibly returned; cancelled before shipping."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OrderStatus"]


class OrderStatus(StrEnum):
    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    RETURNED = "returned"

    @property
    def is_final(self) -> bool:
        """Nothing leaves a final state: transitions only move forward (a shipped order can still be returned)."""
        return self in (OrderStatus.CANCELLED, OrderStatus.RETURNED)
