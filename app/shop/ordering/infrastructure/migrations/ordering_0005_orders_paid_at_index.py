"""An index for the sales report's range: a tenant's orders by the instant they were paid.

Revision ID: ordering_0005
Revises: ordering_0004
Create Date: 2026-12-07

``(tenant_id, paid_at)``: the report reads the orders paid within its days through it and their lines through
the lines' primary key, instead of filtering every order by status (``EXPLAIN`` on 100k orders). Only an index
changes, so no data moves either way.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "ordering_0005"
down_revision: str | Sequence[str] | None = "ordering_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_orders_tenant_id_paid_at"


def upgrade() -> None:
    op.create_index(_INDEX, "orders", ["tenant_id", "paid_at"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="orders")
