"""The declarative base and the columns every entity table shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apibase.infrastructure.persistence.column_types import UTCDateTime

__all__ = ["Base", "EntityColumns", "TenantColumns", "VersionedColumns"]

# Stable constraint names, so Alembic autogenerate produces the same migration on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EntityColumns:
    """Timestamps and soft delete, as on ``BaseEntity`` (the id column is declared per table)."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)


class VersionedColumns(EntityColumns):
    version: Mapped[int] = mapped_column(nullable=False, default=1)


class TenantColumns:
    """The owning tenant of a row; repositories with ``tenant_scoped = True`` filter and stamp it on every statement."""

    tenant_id: Mapped[str] = mapped_column(String(63), nullable=False, index=True)
