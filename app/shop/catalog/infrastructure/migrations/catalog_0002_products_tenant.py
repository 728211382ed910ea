"""Tenancy for products: a sku is unique per tenant now, not globally.

Revision ID: catalog_0002
Revises: catalog_0001
Create Date: 2026-11-26

The catalog's part of revision 0003 of the old single history. Rows that existed before tenancy belong to the
default tenant (the column's server default, kept so a row written by an older replica during a rolling deploy
still lands somewhere valid).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "catalog_0002"
down_revision: str | Sequence[str] | None = "catalog_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("products", sa.Column("tenant_id", sa.String(length=63), nullable=False, server_default="default"))
    op.create_index(op.f("ix_products_tenant_id"), "products", ["tenant_id"], unique=False)
    op.drop_index(op.f("ix_products_sku"), table_name="products")
    op.create_index("ix_products_tenant_id_sku", "products", ["tenant_id", "sku"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_products_tenant_id_sku", table_name="products")
    op.create_index(op.f("ix_products_sku"), "products", ["sku"], unique=True)
    op.drop_index(op.f("ix_products_tenant_id"), table_name="products")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("tenant_id")
