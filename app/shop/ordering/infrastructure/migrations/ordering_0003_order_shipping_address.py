"""The order's shipping address, stored encrypted.

Revision ID: ordering_0003
Revises: ordering_0002
Create Date: 2026-12-03

Revision 0004 of the old single history.

A nullable text column: existing orders have no address, and the column holds only the ciphertext token the
application writes (``v1.<kid>.<nonce>.<ciphertext>``), never plaintext, so it gets no index and no length
limit of its own (the 500-character limit applies to the plaintext, before encryption).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "ordering_0003"
down_revision: str | Sequence[str] | None = "ordering_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("shipping_address", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("shipping_address")
