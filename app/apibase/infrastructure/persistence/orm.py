"""The declarative base, the columns every entity table shares, and the tenancy every table must have.

Secure by default: a table is **tenant-scoped** unless it declares itself global. A tenant-scoped table has a
``tenant_id`` column (``TenantColumns``, or added by ``Base`` to a table that declares nothing), and the generic
``SQLAlchemyRepository`` filters every statement by the bound tenant and stamps it on every insert, failing closed
with ``TenantRequired`` when none is bound. A table that declares nothing is tenant-scoped rather than refused:
the table written in a hurry is then the safe one, and forgetting a declaration can only hide rows, never share
them. Sharing rows across tenants takes ``GlobalTable`` in so many words.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apibase.infrastructure.persistence.column_types import UTCDateTime

__all__ = [
    "ACTOR_LENGTH",
    "NAMING_CONVENTION",
    "TENANT_COLUMN",
    "AuditColumns",
    "Base",
    "EntityColumns",
    "GlobalTable",
    "Tenancy",
    "TenancyPolicy",
    "TenantColumns",
    "VersionedColumns",
    "tenancy_of",
]

# Stable constraint names, so Alembic autogenerate produces the same migration on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The column that names a row's tenant in every tenant-scoped table.
TENANT_COLUMN = "tenant_id"


class Tenancy(StrEnum):
    TENANT = "tenant"
    GLOBAL = "global"


def _tenant_column() -> Mapped[str]:
    return mapped_column(String(63), nullable=False, index=True)


def tenancy_of(model: type[object]) -> Tenancy:
    """A table model's tenancy: what it declares in ``__tenancy__``, tenant-scoped when it declares nothing."""
    return Tenancy(getattr(model, "__tenancy__", Tenancy.TENANT))


#: Room for any caller's subject (user ids are UUIDs; other credential kinds may name longer subjects).
ACTOR_LENGTH = 255


class AuditColumns:
    """Who created the row and who changed it last, as on ``AuditableEntity`` (``NULL``: no identified caller)."""

    created_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH), nullable=True)


class TenantColumns:
    """The owning tenant of a row, declared explicitly (and typed, for code that reads ``Row.tenant_id``)."""

    __tenancy__: ClassVar[Tenancy] = Tenancy.TENANT
    tenant_id: Mapped[str] = _tenant_column()


class GlobalTable:
    """Rows the generic repository does not scope by tenant: data every tenant shares, or a table whose own code
    scopes it. Say which in a comment where the table uses it; a reviewer should see every such table."""

    __tenancy__: ClassVar[Tenancy] = Tenancy.GLOBAL


class TenancyPolicy:
    """For declarative bases: each table gets its tenancy checked, and a ``tenant_id`` column when it needs one."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        if getattr(cls, "__tablename__", None) is not None and not cls.__dict__.get("__abstract__", False):
            tenancy = tenancy_of(cls)  # a misspelt ``__tenancy__`` is a ValueError here, at import
            if tenancy is Tenancy.GLOBAL and issubclass(cls, TenantColumns):
                raise TypeError(f"{cls.__name__} is declared both GlobalTable and TenantColumns: choose one")
            if tenancy is Tenancy.TENANT and not hasattr(cls, TENANT_COLUMN):
                setattr(cls, TENANT_COLUMN, _tenant_column())
        super().__init_subclass__(**kwargs)


class Base(TenancyPolicy, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EntityColumns:
    """Timestamps and soft delete, as on ``BaseEntity`` (the id column is declared per table)."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)


class VersionedColumns(EntityColumns):
    version: Mapped[int] = mapped_column(nullable=False, default=1)
