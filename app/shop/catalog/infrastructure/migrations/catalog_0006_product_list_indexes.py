"""Indexes for the product list's sorts by name and by price, over live rows.

Revision ID: catalog_0006
Revises: catalog_0005
Create Date: 2026-12-07

``(tenant_id, name, id)`` and ``(tenant_id, price, id)``, partial (``WHERE deleted_at IS NULL``) on PostgreSQL and
SQLite like the sku index: a sorted first page then reads 51 index entries instead of sorting every row of the
tenant (``EXPLAIN`` on 100k rows showed a sequential scan and a sort without them). Only indexes change, so no data
moves either way.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "catalog_0006"
down_revision: str | Sequence[str] | None = "catalog_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE_ROWS = "deleted_at IS NULL"
_SORTS = ("name", "price")


def upgrade() -> None:
    for column in _SORTS:
        op.create_index(
            f"ix_products_live_{column}",
            "products",
            ["tenant_id", column, "id"],
            sqlite_where=sa.text(_LIVE_ROWS),
            postgresql_where=sa.text(_LIVE_ROWS),
        )


def downgrade() -> None:
    for column in reversed(_SORTS):
        op.drop_index(f"ix_products_live_{column}", table_name="products")
