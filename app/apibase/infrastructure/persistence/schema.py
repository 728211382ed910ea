"""The service's complete schema: importing this module registers every table on ``Base.metadata``.

Migrations (autogenerate and the schema tests) compare against :data:`metadata`, so a table module missing here
would look like a table to drop.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from apibase.infrastructure.persistence.audit.tables import AuditLogRow
from apibase.infrastructure.persistence.idempotency.tables import IdempotencyKeyRow
from apibase.infrastructure.persistence.identity.tables import (
    ApiKeyRow,
    RefreshSessionRow,
    TenantRegistrationRow,
    UserRow,
)
from apibase.infrastructure.persistence.orm import Base
from shop.catalog.infrastructure.tables import ProductRow
from shop.ordering.infrastructure.tables import OrderLineRow, OrderRow

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
