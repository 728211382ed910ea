"""Migration checks of the shop's branches that must hold on every supported database, run by the SQLite and
PostgreSQL suites alike: upgrades keep the data, and a database of the old single history is adopted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Integer, String, Update, Uuid, column, func, insert, select, table, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from apibase.core.settings import Settings
from apibase.infrastructure.persistence.column_types import ExactDecimal, UTCDateTime
from apibase.infrastructure.persistence.migrate import head_revisions, upgrade_database
from apibase.module import migration_branches
from apibase.testing.migrations import as_legacy_database, revisions_on, schema_differences
from shop.catalog.infrastructure.tables import ProductRow
from shop.main import modules
from shop.ordering.infrastructure.tables import OrderLineRow, OrderRow

__all__ = [
    "LEGACY_REVISIONS",
    "SHOP_BRANCHES",
    "assert_legacy_database_is_adopted",
    "assert_order_returns_upgrade_keeps_rows",
    "assert_sku_index_upgrade_keeps_rows_and_frees_deleted_skus",
]

#: The shop's migration branches, in the order the service migrates them (the kernel's comes first, implied).
SHOP_BRANCHES = migration_branches(modules())
#: Every revision of the single history the shop and the kernel shared before each module had its own branch.
LEGACY_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")


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
    """From catalog_0002 with data to head: every row stays, a deleted sku is free, a live one still taken."""
    upgrade_database(settings, SHOP_BRANCHES, branch="catalog", revision="catalog_0002", connection=connection)
    rows = [
        _product("MUG-001"),
        _product("CUP-001", deleted=True),
        _product("MUG-001", tenant="other"),
        _product("TEA-001"),
    ]
    connection.execute(insert(ProductRow), rows)

    upgrade_database(settings, SHOP_BRANCHES, connection=connection)

    kept = set(connection.execute(select(ProductRow.id)).scalars())
    assert kept == {row["id"] for row in rows}, "the upgrade must keep every row"
    assert not _taken(connection, _product("CUP-001")), "a soft-deleted sku must be free again"
    assert not _taken(connection, _product("CUP-001", deleted=True)), "deleted rows never collide"
    assert _taken(connection, _product("MUG-001")), "a live sku stays unique within its tenant"
    assert _taken(connection, _product("CUP-001")), "the reused sku is live now, hence taken"
    live = select(func.count()).select_from(ProductRow).where(ProductRow.deleted_at.is_(None))
    assert connection.execute(live).scalar_one() == 4


def assert_order_returns_upgrade_keeps_rows(settings: Settings, connection: Connection) -> None:
    """From ordering_0003 with orders and lines to head: every row stays, and an order can be ``returned``."""
    upgrade_database(settings, SHOP_BRANCHES, branch="ordering", revision="ordering_0003", connection=connection)
    orders = [_order("shipped"), _order("cancelled")]
    connection.execute(insert(OrderRow).values(orders))
    lines = [_line(order["id"], position) for order in orders for position in range(2)]
    connection.execute(insert(OrderLineRow).values(lines))

    upgrade_database(settings, SHOP_BRANCHES, connection=connection)

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


#: The columns products and orders have had since the first revision (a legacy database may have no others).
_FIRST_PRODUCTS = table(
    "products",
    column("id", Uuid()),
    column("sku", String()),
    column("name", String()),
    column("price", ExactDecimal(12, 2)),
    column("currency", String()),
    column("stock", Integer()),
    column("active", Boolean()),
    column("version", Integer()),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)
_FIRST_ORDERS = table(
    "orders",
    column("id", Uuid()),
    column("customer_email", String()),
    column("currency", String()),
    column("status", String()),
    column("total", ExactDecimal(18, 2)),
    column("version", Integer()),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)


def assert_legacy_database_is_adopted(settings: Settings, connection: Connection, old: str) -> None:
    """A database the old single history left at ``old``, with a product and an order, upgrades to every branch's
    head: each module's version table is written, the rows stay, and the schema is the models'."""
    as_legacy_database(settings, SHOP_BRANCHES, old, connection)
    product, order = _product("OLD-001"), _order("placed")
    connection.execute(insert(_FIRST_PRODUCTS).values({col.name: product[col.name] for col in _FIRST_PRODUCTS.c}))
    connection.execute(insert(_FIRST_ORDERS).values({col.name: order[col.name] for col in _FIRST_ORDERS.c}))

    upgrade_database(settings, SHOP_BRANCHES, connection=connection)

    assert revisions_on(connection, SHOP_BRANCHES) == head_revisions(SHOP_BRANCHES)
    assert schema_differences(connection, SHOP_BRANCHES) == []
    assert connection.execute(select(ProductRow.id, ProductRow.tenant_id)).one() == (product["id"], "default")
    assert connection.execute(select(OrderRow.id, OrderRow.tenant_id)).one() == (order["id"], "default")
