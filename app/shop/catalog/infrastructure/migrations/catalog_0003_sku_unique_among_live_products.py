"""A sku is unique among live products only: a soft-deleted product's sku can be used again.

Revision ID: catalog_0003
Revises: catalog_0002
Create Date: 2026-12-07

Revision 0005 of the old single history.

The unique (tenant, sku) index becomes partial (``WHERE deleted_at IS NULL``, on PostgreSQL and SQLite alike).
Upgrading keeps every row: the old index already held all rows unique, so the narrower one holds them too.
Downgrading restores the full index, which fails if a deleted sku has been reused since: the data would no
longer fit the old rule, and that is for a person to resolve, not for a migration to delete.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "catalog_0003"
down_revision: str | Sequence[str] | None = "catalog_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_products_tenant_id_sku"
_LIVE_ROWS = "deleted_at IS NULL"


def upgrade() -> None:
    op.drop_index(_INDEX, table_name="products")
    op.create_index(
        _INDEX,
        "products",
        ["tenant_id", "sku"],
        unique=True,
        sqlite_where=sa.text(_LIVE_ROWS),
        postgresql_where=sa.text(_LIVE_ROWS),
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="products")
    op.create_index(_INDEX, "products", ["tenant_id", "sku"], unique=True)
