"""The kernel's tables: importing this module registers them on ``Base.metadata`` (the kernel's migration branch).

A module's tables register themselves the same way when its table module is imported (a module declaring its
``Migrations`` imports them), so ``metadata`` holds the kernel's tables and those of every module loaded. Each
migration branch compares only its own tables with the database (``Migrations.tables``).
"""

from __future__ import annotations

from sqlalchemy import MetaData

from apibase.infrastructure.persistence.audit.tables import AuditLogRow
from apibase.infrastructure.persistence.events.tables import DeadLetterRow, InboxRow, OutboxEventRow
from apibase.infrastructure.persistence.idempotency.tables import IdempotencyKeyRow
from apibase.infrastructure.persistence.identity.tables import (
    ApiKeyRow,
    RefreshSessionRow,
    TenantRegistrationRow,
    UserRow,
)
from apibase.infrastructure.persistence.orm import Base

__all__ = ["TABLE_MODELS", "metadata"]

#: The kernel branch's tables (``KERNEL_MIGRATIONS.tables``).
TABLE_MODELS: tuple[type[Base], ...] = (
    UserRow,
    TenantRegistrationRow,
    ApiKeyRow,
    RefreshSessionRow,
    AuditLogRow,
    IdempotencyKeyRow,
    OutboxEventRow,
    DeadLetterRow,
    InboxRow,
)
metadata: MetaData = Base.metadata
