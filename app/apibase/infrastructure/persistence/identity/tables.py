"""The identity tables. Uniqueness lives in the database, so racing writes cannot both win:
(tenant, email) for users, the key prefix for API keys, and the tenant id for sign-ups.

Each is a ``GlobalTable`` scoped by its own code: each row names its tenant in a ``tenant`` column that the
identity repositories check themselves, because logging in and signing up run before any caller's tenant is
bound, and a tenant's registration row is what decides whether the tenant exists at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from apibase.infrastructure.persistence.column_types import UTCDateTime
from apibase.infrastructure.persistence.orm import Base, EntityColumns, GlobalTable, VersionedColumns

__all__ = ["ApiKeyRow", "RefreshSessionRow", "TenantRegistrationRow", "UserRow"]


class UserRow(GlobalTable, VersionedColumns, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant", "email"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: A JSON list of role names: few, short, always read with the user.
    roles: Mapped[list[str]] = mapped_column(JSON())
    failed_logins: Mapped[int]
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool]


class TenantRegistrationRow(GlobalTable, Base):
    """One row per tenant opened by self-service sign-up: the primary key makes the first sign-up win."""

    __tablename__ = "tenant_registrations"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKeyRow(GlobalTable, EntityColumns, Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    tenant: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RefreshSessionRow(GlobalTable, EntityColumns, Base):
    __tablename__ = "refresh_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    family: Mapped[uuid.UUID] = mapped_column(Uuid(), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    tenant: Mapped[str] = mapped_column(String(63))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
