"""The ``audit_log`` table: append-only, read per tenant newest first (hence the (tenant, time) index).

It is on the service's ``Base.metadata``, so it belongs in ``schema.py`` and the kernel's migration branch.
A ``GlobalTable`` scoped by its own code: the recorder writes the tenant of each entry itself (refused and
anonymous requests are audited too, with the tenant they named) and reads one tenant's entries only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from sqlalchemy import Index, SmallInteger, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from apibase.infrastructure.persistence.column_types import UTCDateTime
from apibase.infrastructure.persistence.orm import Base, GlobalTable

__all__ = ["AUDIT_COLUMN_LENGTHS", "AuditLogRow"]

#: Maximum lengths of the text columns; the recorder clips to them (PostgreSQL refuses longer values).
AUDIT_COLUMN_LENGTHS: Final = {
    "actor": 255,
    "actor_method": 32,
    "tenant_id": 63,
    "action": 512,
    "resource_type": 100,
    "resource_id": 255,
    "request_id": 128,
    "client_ip": 64,
}


class AuditLogRow(GlobalTable, Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_id_occurred_at", "tenant_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str] = mapped_column(String(AUDIT_COLUMN_LENGTHS["actor"]))
    actor_method: Mapped[str | None] = mapped_column(String(AUDIT_COLUMN_LENGTHS["actor_method"]))
    tenant_id: Mapped[str] = mapped_column(String(AUDIT_COLUMN_LENGTHS["tenant_id"]))
    action: Mapped[str] = mapped_column(String(AUDIT_COLUMN_LENGTHS["action"]))
    resource_type: Mapped[str] = mapped_column(String(AUDIT_COLUMN_LENGTHS["resource_type"]))
    resource_id: Mapped[str | None] = mapped_column(String(AUDIT_COLUMN_LENGTHS["resource_id"]))
    outcome: Mapped[int] = mapped_column(SmallInteger())
    request_id: Mapped[str | None] = mapped_column(String(AUDIT_COLUMN_LENGTHS["request_id"]))
    client_ip: Mapped[str | None] = mapped_column(String(AUDIT_COLUMN_LENGTHS["client_ip"]))
