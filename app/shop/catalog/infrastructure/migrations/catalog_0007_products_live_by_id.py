"""An index for the product list's default order: a tenant's live products by id.

Revision ID: catalog_0007
Revises: catalog_0006
Create Date: 2026-12-07

``(tenant_id, id)``, partial (``WHERE deleted_at IS NULL``) on PostgreSQL and SQLite like the sku index. Without it
SQLite answered every first page by reading the tenant's rows through the sku index and sorting all of them: 18 ms
at 30,000 products, so a sustained load that creates products got slower by the minute. With it a page reads its
51 index entries. Only an index changes, so no data moves either way.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "catalog_0007"
down_revision: str | Sequence[str] | None = "catalog_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE_ROWS = "deleted_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_products_live_id",
        "products",
        ["tenant_id", "id"],
        sqlite_where=sa.text(_LIVE_ROWS),
        postgresql_where=sa.text(_LIVE_ROWS),
    )


def downgrade() -> None:
    op.drop_index("ix_products_live_id", table_name="products")
