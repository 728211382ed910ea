"""The service's complete schema: importing this module registers every table on ``Base.metadata``.

Migrations (autogenerate and the schema tests) compare against :data:`metadata`, so a table module missing here
would look like a table to drop.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from app.infrastructure.persistence.audit.tables import AuditLogRow
from app.infrastructure.persistence.catalog.tables import ProductRow
from app.infrastructure.persistence.idempotency.tables import IdempotencyKeyRow
from app.infrastructure.persistence.identity.tables import ApiKeyRow, RefreshSessionRow, TenantRegistrationRow, UserRow
from app.infrastructure.persistence.ordering.tables import OrderLineRow, OrderRow
from app.infrastructure.persistence.orm import Base

__all__ = ["TABLE_MODELS", "metadata"]

TABLE_MODELS: tuple[type[Base], ...] = (
    ProductRow,
    OrderRow,
    OrderLineRow,
    UserRow,
    TenantRegistrationRow,
    ApiKeyRow,
    RefreshSessionRow,
    AuditLogRow,
    IdempotencyKeyRow,
)
metadata: MetaData = Base.metadata
