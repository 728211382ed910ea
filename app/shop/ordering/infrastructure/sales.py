"""The sales report on SQL: order lines joined to their orders and products, summed by ``QueryBuilder``.

One statement per report, grouped by the report's key and the line's currency. Tenant scope comes from the orders
row (lines have no tenant of their own) and binds the product join too. Soft-deleted orders are left out by the
builder; soft-deleted products are joined anyway, so a product deleted since its sale is still named.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from uuid import UUID

from sqlalchemy import and_

from apibase.infrastructure.persistence.query_builder import AggregateQuery, AggregateRow, Count, QueryBuilder, Sum
from apibase.infrastructure.persistence.sql_dates import utc_date
from apibase.infrastructure.persistence.tenancy import required_tenant
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from shop.catalog.domain.product import ProductId
from shop.catalog.infrastructure.tables import ProductRow
from shop.ordering.application.dto import SalesGrouping
from shop.ordering.application.messages import SalesReport
from shop.ordering.application.ports import SALE_STATUSES, ProductKey, SalesBucket
from shop.ordering.infrastructure.tables import OrderLineRow, OrderRow

__all__ = ["SqlSalesReader"]

_SOLD_LINES = (
    QueryBuilder(OrderLineRow)
    .join(OrderRow)
    .join(
        ProductRow,
        and_(ProductRow.id == OrderLineRow.product_id, ProductRow.tenant_id == OrderRow.tenant_id),
        outer=True,
        include_deleted=True,
    )
)


class SqlSalesReader:
    """Implements ``SalesReader`` in the session of one unit of work."""

    def __init__(self, unit_of_work: SQLAlchemyUnitOfWork) -> None:
        self._uow = unit_of_work

    async def sales(self, report: SalesReport) -> Sequence[SalesBucket]:
        rows = await _query(report).all(self._uow.session)
        return [_bucket(row, report.group_by) for row in rows]


def _query(report: SalesReport) -> AggregateQuery:
    """Paid within the report's UTC days, to the microsecond both databases store (no day after 9999-12-31)."""
    sold = _SOLD_LINES.where(
        OrderRow.tenant_id == required_tenant(),
        OrderRow.status.in_([status.value for status in SALE_STATUSES]),
        OrderRow.paid_at >= datetime.combine(report.first_day, time.min, UTC),
        OrderRow.paid_at <= datetime.combine(report.last_day, time.max, UTC),
    )
    if report.group_by is SalesGrouping.PRODUCT:
        grouped = sold.group_by(OrderLineRow.product_id, ProductRow.sku.label("sku"), ProductRow.name.label("name"))
    else:
        grouped = sold.group_by(utc_date(OrderRow.paid_at).label("day"))
    return grouped.group_by(OrderLineRow.currency).aggregate(
        units=Sum(OrderLineRow.quantity),
        orders=Count(OrderLineRow.order_id, distinct=True),
        revenue=Sum(OrderLineRow.unit_price * OrderLineRow.quantity),
    )


def _bucket(row: AggregateRow, grouping: SalesGrouping) -> SalesBucket:
    key: ProductKey | date
    if grouping is SalesGrouping.PRODUCT:
        product_id = ProductId.parse(_of(row["product_id"], UUID))
        key = ProductKey(product_id, _optional_text(row["sku"]), _optional_text(row["name"]))
    else:
        key = _of(row["day"], date)
    return SalesBucket(
        key=key,
        currency=_of(row["currency"], str),
        units=_of(row["units"], int),
        orders=_of(row["orders"], int),
        revenue=_of(row["revenue"], Decimal),
    )


def _of[T](value: object, kind: type[T]) -> T:
    """Aggregate rows are untyped; a value of another type is a mapping bug, not a client's problem."""
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _optional_text(value: object) -> str | None:
    """The product's sku or name: NULL when the outer join found no product row."""
    return None if value is None else _of(value, str)
