"""The products table; the unique (tenant, sku) index makes a taken sku a conflict, even under races."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.infrastructure.persistence.column_types import ExactDecimal
from app.infrastructure.persistence.orm import Base, TenantColumns, VersionedColumns

__all__ = ["ProductRow"]


class ProductRow(TenantColumns, VersionedColumns, Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        Index("ix_products_tenant_id_sku", "tenant_id", "sku", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    sku: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    price: Mapped[Decimal] = mapped_column(ExactDecimal(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int]
    active: Mapped[bool]
