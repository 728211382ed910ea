"""Order returns: the ``returned`` status, when the order came back and why.

Revision ID: ordering_0004
Revises: ordering_0003
Create Date: 2026-12-07

Revision 0006 of the old single history.

Two nullable columns (existing orders were never returned) and the status check widened by one value; no row
changes on the way up. Downgrading turns returned orders back into shipped ones (the old schema has no other
place for them) and drops the return's date and reason.

SQLite cannot alter a CHECK constraint, so there the table is rebuilt (batch "move and copy"); it is built from
the table as revision ordering_0003 left it (``copy_from``), which also lets ``--sql`` print the DDL without a
database.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from apibase.infrastructure.persistence.column_types import ExactDecimal, UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "ordering_0004"
down_revision: str | Sequence[str] | None = "ordering_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "ck_orders_status_known"
_BEFORE = "status IN ('placed', 'paid', 'shipped', 'cancelled')"
_AFTER = "status IN ('placed', 'paid', 'shipped', 'cancelled', 'returned')"


def _orders_before() -> sa.Table:
    """The orders table at ordering_0003, with its constraints and indexes (the rebuild keeps all of them)."""
    return sa.Table(
        "orders",
        sa.MetaData(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_email", sa.String(length=254), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", ExactDecimal(precision=18, scale=2), nullable=False),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.Column("shipped_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("cancellation_reason", sa.String(length=500), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("tenant_id", sa.String(length=63), nullable=False, server_default="default"),
        sa.Column("shipping_address", sa.Text(), nullable=True),
        sa.CheckConstraint(_BEFORE, name=op.f(_CHECK)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.Index(op.f("ix_orders_customer_email"), "customer_email"),
        sa.Index(op.f("ix_orders_status"), "status"),
        sa.Index(op.f("ix_orders_deleted_at"), "deleted_at"),
        sa.Index(op.f("ix_orders_tenant_id"), "tenant_id"),
    )


def _orders_after() -> sa.Table:
    """The orders table as ``upgrade`` leaves it (what ``downgrade`` rebuilds from)."""
    table = _orders_before()
    table.append_column(sa.Column("returned_at", UTCDateTime(), nullable=True))
    table.append_column(sa.Column("return_reason", sa.String(length=500), nullable=True))
    check = next(item for item in table.constraints if isinstance(item, sa.CheckConstraint))
    table.constraints.remove(check)
    table.append_constraint(sa.CheckConstraint(_AFTER, name=op.f(_CHECK)))
    return table


def _refuse_cascading_rebuild() -> None:
    """Rebuilding ``orders`` drops the old table: with SQLite's foreign keys on, that would cascade to every order
    line. ``apibase db`` and start-up migrate on connections without them; refuse any other."""
    if context.is_offline_mode() or op.get_bind().dialect.name != "sqlite":
        return
    if op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("migrate SQLite with PRAGMA foreign_keys=OFF: rebuilding orders would delete its lines")


def upgrade() -> None:
    _refuse_cascading_rebuild()
    with op.batch_alter_table("orders", copy_from=_orders_before()) as batch:
        batch.add_column(sa.Column("returned_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("return_reason", sa.String(length=500), nullable=True))
        batch.drop_constraint(op.f(_CHECK), type_="check")
        batch.create_check_constraint(op.f(_CHECK), sa.text(_AFTER))


def downgrade() -> None:
    _refuse_cascading_rebuild()
    op.execute("UPDATE orders SET status = 'shipped' WHERE status = 'returned'")
    with op.batch_alter_table("orders", copy_from=_orders_after()) as batch:
        batch.drop_constraint(op.f(_CHECK), type_="check")
        batch.create_check_constraint(op.f(_CHECK), sa.text(_BEFORE))
        batch.drop_column("return_reason")
        batch.drop_column("returned_at")
