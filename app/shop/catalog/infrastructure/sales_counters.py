"""The sales counters on SQL: conditional stage moves and atomic increments, on PostgreSQL and SQLite alike.

Every write is one statement the database applies atomically: a stage moves with ``UPDATE ... WHERE stage IN``
(two deliveries of one event cannot both win it), and counters grow with ``INSERT ... ON CONFLICT DO UPDATE SET
n = n + excluded.n`` (events of different orders for one product, handled concurrently, add up). Both dialects
spell the upsert alike; a third would need its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from apibase.domain.entities import utc_now
from apibase.infrastructure.persistence.tenancy import required_tenant
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.catalog.application.sales_counters import OrderStage, SalesFigures
from shop.catalog.domain.product import ProductId
from shop.catalog.infrastructure.sales_tables import CountedOrderRow, ProductSalesRow
from shop.catalog.infrastructure.tables import ProductRow

__all__ = ["SqlSalesCounters", "UnsupportedDatabaseError"]

_COUNTERS = ("units_ordered", "units_cancelled", "units_shipped", "units_returned", "orders", "net_revenue")


class UnsupportedDatabaseError(RuntimeError):
    """The bound database has no ``INSERT ... ON CONFLICT ... RETURNING`` that the counters' single statements need."""


class SqlSalesCounters:
    """Implements ``SalesCounters`` in the session of one unit of work, for the bound tenant."""

    def __init__(self, unit_of_work: SQLAlchemyUnitOfWork) -> None:
        self._uow = unit_of_work

    async def known_products(self, product_ids: Collection[ProductId]) -> frozenset[ProductId]:
        if not product_ids:
            return frozenset()
        statement = select(ProductRow.id).where(
            ProductRow.tenant_id == required_tenant(), ProductRow.id.in_(list(product_ids))
        )
        return frozenset(ProductId.parse(found) for found in (await self._uow.session.scalars(statement)))

    async def move_order(self, order_id: uuid.UUID, to: OrderStage, *, after: Collection[OrderStage]) -> bool:
        tenant = required_tenant()
        if after:
            moved = (
                update(CountedOrderRow)
                .where(
                    CountedOrderRow.tenant_id == tenant,
                    CountedOrderRow.order_id == order_id,
                    CountedOrderRow.stage.in_([stage.value for stage in after]),
                )
                .values(stage=to.value, updated_at=utc_now())
            )
            if await self._uow.session.scalar(moved.returning(CountedOrderRow.order_id)) is not None:
                return True
        values = {"tenant_id": tenant, "order_id": order_id, "stage": to.value, "updated_at": utc_now()}
        insert = self._insert(CountedOrderRow).values(values).on_conflict_do_nothing()
        inserted = await self._uow.session.scalar(insert.returning(CountedOrderRow.order_id)) is not None
        return inserted and not after

    async def add(self, movements: Sequence[SalesFigures]) -> None:
        tenant, now = required_tenant(), utc_now()
        for movement in _merged(movements):
            values = {
                "tenant_id": tenant,
                "product_id": movement.product_id,
                "currency": movement.currency,
                **{name: getattr(movement, name) for name in _COUNTERS},
                "updated_at": now,
            }
            insert = self._insert(ProductSalesRow).values(values)
            grown = {name: getattr(ProductSalesRow, name) + getattr(insert.excluded, name) for name in _COUNTERS}
            upsert = insert.on_conflict_do_update(
                index_elements=["tenant_id", "product_id", "currency"], set_={**grown, "updated_at": now}
            )
            await self._uow.session.execute(upsert)

    async def totals(self, product_id: ProductId) -> Sequence[SalesFigures] | None:
        tenant = required_tenant()
        live = select(ProductRow.id).where(
            ProductRow.tenant_id == tenant, ProductRow.id == product_id, ProductRow.deleted_at.is_(None)
        )
        if (await self._uow.session.scalar(live)) is None:
            return None
        rows = await self._uow.session.scalars(
            select(ProductSalesRow).where(ProductSalesRow.tenant_id == tenant, ProductSalesRow.product_id == product_id)
        )
        return [
            SalesFigures(
                product_id,
                row.currency,
                units_ordered=row.units_ordered,
                units_cancelled=row.units_cancelled,
                units_shipped=row.units_shipped,
                units_returned=row.units_returned,
                orders=row.orders,
                net_revenue=row.net_revenue,
            )
            for row in rows
        ]

    def _insert(self, table: type[CountedOrderRow] | type[ProductSalesRow]) -> postgresql.Insert | sqlite.Insert:
        """The dialect's ``INSERT`` with ``ON CONFLICT`` (PostgreSQL's and SQLite's share the spelling)."""
        dialect = self._uow.session.get_bind().dialect.name
        if dialect == "postgresql":
            return postgresql.insert(table)
        if dialect == "sqlite":
            return sqlite.insert(table)
        raise UnsupportedDatabaseError(f"the sales counters need PostgreSQL or SQLite, not {dialect}")


def _merged(movements: Sequence[SalesFigures]) -> list[SalesFigures]:
    """One movement per product and currency: an upsert may touch a row once per statement."""
    merged: dict[tuple[ProductId, str], SalesFigures] = {}
    for movement in movements:
        key = (movement.product_id, movement.currency)
        if (seen := merged.get(key)) is None:
            merged[key] = movement
            continue
        merged[key] = SalesFigures(
            movement.product_id,
            movement.currency,
            units_ordered=seen.units_ordered + movement.units_ordered,
            units_cancelled=seen.units_cancelled + movement.units_cancelled,
            units_shipped=seen.units_shipped + movement.units_shipped,
            units_returned=seen.units_returned + movement.units_returned,
            orders=seen.orders + movement.orders,
            net_revenue=seen.net_revenue + movement.net_revenue,
        )
    return list(merged.values())
