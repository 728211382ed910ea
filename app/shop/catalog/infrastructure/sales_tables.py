"""The sales counters' tables: totals per product and currency, and the stage each counted order has reached.

Both are tenant-scoped and written only by the order-event handlers (``SqlSalesCounters``). Neither has a foreign
key to ``products``: an event may name a product the catalog never held (it is skipped, not stored), and a
product's counters outlive its soft delete.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, PrimaryKeyConstraint, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from apibase.infrastructure.persistence.column_types import ExactDecimal, UTCDateTime
from apibase.infrastructure.persistence.orm import Base, TenantColumns

__all__ = ["CountedOrderRow", "ProductSalesRow"]


class ProductSalesRow(TenantColumns, Base):
    __tablename__ = "product_sales"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "product_id", "currency"),)

    product_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    currency: Mapped[str] = mapped_column(String(3))
    units_ordered: Mapped[int]
    units_cancelled: Mapped[int]
    units_shipped: Mapped[int]
    units_returned: Mapped[int]
    orders: Mapped[int]
    net_revenue: Mapped[Decimal] = mapped_column(ExactDecimal(18, 2))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CountedOrderRow(TenantColumns, Base):
    __tablename__ = "product_sales_orders"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "order_id"),
        CheckConstraint("stage IN ('placed', 'shipped', 'cancelled', 'returned')", name="stage_known"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    stage: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
