"""The orders and order_lines tables: lines belong to their order and go when it is (hard) deleted.

Lines keep no foreign key to products: they are a snapshot of the sale (sku, price, currency), and the
catalog may delete a product without rewriting order history. Lines carry no tenant of their own
(``GlobalTable``): they are only ever read and written through their order, which is tenant-scoped.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from apibase.infrastructure.persistence.column_types import ExactDecimal, UTCDateTime
from apibase.infrastructure.persistence.orm import Base, GlobalTable, TenantColumns, VersionedColumns
from shop.ordering.domain.status import OrderStatus

__all__ = ["OrderLineRow", "OrderRow"]

_STATUSES = ", ".join(f"'{status.value}'" for status in OrderStatus)


class OrderRow(TenantColumns, VersionedColumns, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        # The sales report's range: a tenant's orders paid between two instants (checked with EXPLAIN on 100k rows).
        Index("ix_orders_tenant_id_paid_at", "tenant_id", "paid_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    customer_email: Mapped[str] = mapped_column(String(254), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), index=True)
    #: Stored (the sum of the lines) so that lists can be sorted and filtered by it in SQL.
    total: Mapped[Decimal] = mapped_column(ExactDecimal(18, 2))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_reason: Mapped[str | None] = mapped_column(String(500))
    #: Ciphertext only (``v1.<kid>.<nonce>.<ciphertext>``): the mapper encrypts and decrypts it.
    shipping_address: Mapped[str | None] = mapped_column(Text())


class OrderLineRow(GlobalTable, Base):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    #: The line's place in the order, so lines load back in the order they were placed.
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid(), index=True)
    sku: Mapped[str] = mapped_column(String(32))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int]
