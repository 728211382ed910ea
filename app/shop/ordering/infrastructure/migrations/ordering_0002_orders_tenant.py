"""Tenancy for orders (their lines are reached only through their order).

Revision ID: ordering_0002
Revises: ordering_0001
Create Date: 2026-11-26

The ordering part of revision 0003 of the old single history. Rows that existed before tenancy belong to the
default tenant (the column's server default, kept so a row written by an older replica during a rolling deploy
still lands somewhere valid).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "ordering_0002"
down_revision: str | Sequence[str] | None = "ordering_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("tenant_id", sa.String(length=63), nullable=False, server_default="default"))
    op.create_index(op.f("ix_orders_tenant_id"), "orders", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_tenant_id"), table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tenant_id")
