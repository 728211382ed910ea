"""The declarative base and the columns every entity table shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apibase.infrastructure.persistence.column_types import UTCDateTime

__all__ = ["ACTOR_LENGTH", "AuditColumns", "Base", "EntityColumns", "TenantColumns", "VersionedColumns"]

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


#: Room for any caller's subject (user ids are UUIDs; other credential kinds may name longer subjects).
ACTOR_LENGTH = 255


class AuditColumns:
    """Who created the row and who changed it last, as on ``AuditableEntity`` (``NULL``: no identified caller)."""

    created_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH), nullable=True)


class TenantColumns:
    """The owning tenant of a row; repositories with ``tenant_scoped = True`` filter and stamp it on every statement."""

    tenant_id: Mapped[str] = mapped_column(String(63), nullable=False, index=True)
