"""The transactional outbox, its dead letters and the subscribers' inbox.

Revision ID: apibase_0003
Revises: apibase_0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from apibase.infrastructure.persistence.column_types import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "apibase_0003"
down_revision: str | Sequence[str] | None = "apibase_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _event_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("aggregate_id", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=True),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("position", _POSITION, autoincrement=True, nullable=False),
        *_event_columns(),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    op.create_index(op.f("ix_outbox_events_next_attempt_at"), "outbox_events", ["next_attempt_at"], unique=False)
    op.create_index("ix_outbox_events_aggregate_id_position", "outbox_events", ["aggregate_id", "position"])

    op.create_table(
        "outbox_dead_letters",
        sa.Column("position", _POSITION, autoincrement=False, nullable=False),
        *_event_columns(),
        sa.Column("dead_lettered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox_dead_letters")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_dead_letters_event_id")),
    )
    op.create_index(
        op.f("ix_outbox_dead_letters_dead_lettered_at"), "outbox_dead_letters", ["dead_lettered_at"], unique=False
    )

    op.create_table(
        "inbox_events",
        sa.Column("subscription", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subscription", "event_id", name=op.f("pk_inbox_events")),
    )
    op.create_index(op.f("ix_inbox_events_handled_at"), "inbox_events", ["handled_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_events_handled_at"), table_name="inbox_events")
    op.drop_table("inbox_events")
    op.drop_index(op.f("ix_outbox_dead_letters_dead_lettered_at"), table_name="outbox_dead_letters")
    op.drop_table("outbox_dead_letters")
    op.drop_index("ix_outbox_events_aggregate_id_position", table_name="outbox_events")
    op.drop_index(op.f("ix_outbox_events_next_attempt_at"), table_name="outbox_events")
    op.drop_table("outbox_events")
