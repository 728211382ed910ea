"""Who created each product and who changed it last.

Revision ID: catalog_0004
Revises: catalog_0003
Create Date: 2026-12-07

Revision 0007 of the old single history.

Two nullable columns holding the caller's subject: products created before this revision have no known author,
and a change made without an identified caller (a job, the shell) records none. No index: nothing filters by them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "catalog_0004"
down_revision: str | Sequence[str] | None = "catalog_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("products", sa.Column("created_by", sa.String(length=255), nullable=True))
    op.add_column("products", sa.Column("updated_by", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("updated_by")
        batch.drop_column("created_by")
