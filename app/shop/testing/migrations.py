"""Migration checks that must hold on every supported database, run by the SQLite and PostgreSQL suites alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Update, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.migrate import upgrade_database
from shop.catalog.infrastructure.tables import ProductRow
from shop.ordering.infrastructure.tables import OrderLineRow, OrderRow

__all__ = [
    "assert_order_returns_upgrade_keeps_rows",
    "assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus",
]


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


def assert_order_returns_upgrade_keeps_rows(settings: Settings, connection: Connection) -> None:
    """From revision 0005 with orders and lines to head: every row stays, and an order can be ``returned``."""
    upgrade_database(settings, "0005", connection=connection)
    orders = [_order("shipped"), _order("cancelled")]
    connection.execute(insert(OrderRow).values(orders))
    lines = [_line(order["id"], position) for order in orders for position in range(2)]
    connection.execute(insert(OrderLineRow).values(lines))

    upgrade_database(settings, "head", connection=connection)

    assert set(connection.execute(select(OrderRow.id)).scalars()) == {order["id"] for order in orders}
    assert connection.execute(select(func.count()).select_from(OrderLineRow)).scalar_one() == len(lines)
    returned = update(OrderRow).where(OrderRow.id == orders[0]["id"])
    connection.execute(returned.values(status="returned", return_reason="broken", returned_at=datetime.now(UTC)))
    assert connection.execute(select(OrderRow.status).where(OrderRow.id == orders[0]["id"])).scalar_one() == "returned"
    assert _refused(connection, update(OrderRow).values(status="lost")), "the status check still holds"


def _refused(connection: Connection, statement: Update) -> bool:
    try:
        with connection.begin_nested():
            connection.execute(statement)
    except IntegrityError:
        return True
    return False


def _order(status: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "tenant_id": "default",
        "customer_email": "ada@example.com",
        "currency": "EUR",
        "status": status,
        "total": Decimal("2.00"),
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


def _line(order_id: object, position: int) -> dict[str, object]:
    return {
        "order_id": order_id,
        "position": position,
        "product_id": uuid.uuid4(),
        "sku": f"SKU-{position}",
        "unit_price": Decimal("1.00"),
        "currency": "EUR",
        "quantity": 1,
    }
