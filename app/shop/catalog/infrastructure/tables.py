"""The products table; the unique (tenant, sku) index makes a taken sku a conflict, even under races.

The index is partial: it covers live rows only (``deleted_at IS NULL``), so the sku of a soft-deleted product can
be used again, as the API shows it free (a deleted product is in no list and no filter).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from apibase.infrastructure.persistence.column_types import ExactDecimal
from apibase.infrastructure.persistence.orm import AuditColumns, Base, TenantColumns, VersionedColumns

__all__ = ["SORT_INDEXED", "ProductRow"]

#: The predicate of the partial indexes, the same text on every supported database.
_LIVE_ROWS = "deleted_at IS NULL"
#: The list sorts an index serves (with the tenant first and the id last); other sorts sort the tenant's rows.
SORT_INDEXED = ("name", "price")


class ProductRow(TenantColumns, VersionedColumns, AuditColumns, Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        Index(
            "ix_products_tenant_id_sku",
            "tenant_id",
            "sku",
            unique=True,
            sqlite_where=text(_LIVE_ROWS),
            postgresql_where=text(_LIVE_ROWS),
        ),
        # The list's sorts by name and by price walk these in order and stop after a page (no sort of the tenant's
        # rows); ``id`` last matches the keyset tiebreaker. Checked with EXPLAIN on 100k rows (docs/performance.md).
        *(
            Index(
                f"ix_products_live_{column}",
                "tenant_id",
                column,
                "id",
                sqlite_where=text(_LIVE_ROWS),
                postgresql_where=text(_LIVE_ROWS),
            )
            for column in SORT_INDEXED
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    sku: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    price: Mapped[Decimal] = mapped_column(ExactDecimal(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int]
    active: Mapped[bool]
