"""Migration checks that must hold on every supported database, run by the SQLite and PostgreSQL suites alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from app.core.settings import Settings
from app.infrastructure.persistence.catalog.tables import ProductRow
from app.infrastructure.persistence.migrate import upgrade_database

__all__ = ["assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus"]


def _product(sku: str, *, tenant: str = "default", deleted: bool = False) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant,
        "sku": sku,
        "name": sku.title(),
        "description": None,
        "price": Decimal("1.00"),
        "currency": "EUR",
        "stock": 1,
        "active": True,
        "created_at": now,
        "updated_at": now,
        "deleted_at": now if deleted else None,
        "version": 1,
    }


def _taken(connection: Connection, row: dict[str, object]) -> bool:
    """Whether the unique index refuses ``row`` (tried in a savepoint, so the transaction goes on)."""
    try:
        with connection.begin_nested():
            connection.execute(insert(ProductRow), [row])
    except IntegrityError:
        return True
    return False


def assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus(settings: Settings, connection: Connection) -> None:
    """From revision 0004 with data to head: every row stays, a deleted sku is free, a live one still taken."""
    upgrade_database(settings, "0004", connection=connection)
    rows = [
        _product("MUG-001"),
        _product("CUP-001", deleted=True),
        _product("MUG-001", tenant="other"),
        _product("TEA-001"),
    ]
    connection.execute(insert(ProductRow), rows)

    upgrade_database(settings, "head", connection=connection)

    kept = set(connection.execute(select(ProductRow.id)).scalars())
    assert kept == {row["id"] for row in rows}, "the upgrade must keep every row"
    assert not _taken(connection, _product("CUP-001")), "a soft-deleted sku must be free again"
    assert not _taken(connection, _product("CUP-001", deleted=True)), "deleted rows never collide"
    assert _taken(connection, _product("MUG-001")), "a live sku stays unique within its tenant"
    assert _taken(connection, _product("CUP-001")), "the reused sku is live now, hence taken"
    live = select(func.count()).select_from(ProductRow).where(ProductRow.deleted_at.is_(None))
    assert connection.execute(live).scalar_one() == 4
