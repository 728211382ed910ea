"""Per-product sales counters, kept from the ordering module's events, and the stage of each counted order.

Revision ID: catalog_0005
Revises: catalog_0004
Create Date: 2026-12-07

Two new tables and nothing else changes, so no data moves: the counters start at zero and count the orders whose
``OrderPlaced`` arrives after the upgrade (orders placed before it are not counted; the ordering module's sales
report covers them). Downgrading drops the counters, which the events could rebuild only by replaying them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from apibase.infrastructure.persistence.column_types import ExactDecimal, UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "catalog_0005"
down_revision: str | Sequence[str] | None = "catalog_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product_sales",
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("units_ordered", sa.Integer(), nullable=False),
        sa.Column("units_cancelled", sa.Integer(), nullable=False),
        sa.Column("units_shipped", sa.Integer(), nullable=False),
        sa.Column("units_returned", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("net_revenue", ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "product_id", "currency", name=op.f("pk_product_sales")),
    )
    op.create_index(op.f("ix_product_sales_tenant_id"), "product_sales", ["tenant_id"], unique=False)
    op.create_table(
        "product_sales_orders",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.CheckConstraint(
            "stage IN ('placed', 'shipped', 'cancelled', 'returned')", name=op.f("ck_product_sales_orders_stage_known")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name=op.f("pk_product_sales_orders")),
    )
    op.create_index(op.f("ix_product_sales_orders_tenant_id"), "product_sales_orders", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_product_sales_orders_tenant_id"), table_name="product_sales_orders")
    op.drop_table("product_sales_orders")
    op.drop_index(op.f("ix_product_sales_tenant_id"), table_name="product_sales")
    op.drop_table("product_sales")
