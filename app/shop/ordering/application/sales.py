"""The sales report's handler: check the range, let storage sum per group and currency, fold into rows.

What counts as a sale is ``SALE_STATUSES`` (paid or shipped), on the UTC day the order was paid. Revenue is summed
per currency and never converted, so a row has one money object per currency its group sold in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from apibase.application.cqrs.handlers import QueryHandler
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.core.errors import AnyAppError, FieldError, ValidationFailed
from apibase.core.result import Err, Ok, Result
from shop.catalog.application.money import MoneyOut
from shop.ordering.application.dto import DaySales, ProductSales, SalesGrouping, SalesReportOut
from shop.ordering.application.messages import SalesReport
from shop.ordering.application.ports import SALE_STATUSES, OrderingDependencies, ProductKey, SalesBucket

__all__ = ["MAX_REPORT_DAYS", "SalesReportHandler"]

#: A year, leap day included: enough for any annual report, and a bound on what one request may scan.
MAX_REPORT_DAYS = 366


class SalesReportHandler(QueryHandler[SalesReport, SalesReportOut]):
    def __init__(self, dependencies: OrderingDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, query: SalesReport) -> Result[SalesReportOut, AnyAppError]:
        if (problem := _range_problem(query)) is not None:
            return Err(problem)

        buckets = await self._dependencies.sales(current_unit_of_work()).sales(query)
        return Ok(_report(query, buckets))


def _range_problem(query: SalesReport) -> ValidationFailed | None:
    """Located as a malformed date is (``query``, ``from``/``to``), so a client reads both kinds of error alike."""
    if query.first_day > query.last_day:
        error = FieldError(loc=("query", "from"), message="must not be after 'to'", type="range.reversed")
        detail = f"'from' ({query.first_day}) is after 'to' ({query.last_day})"
        return ValidationFailed.from_field_errors([error], detail)
    days = (query.last_day - query.first_day).days + 1
    if days > MAX_REPORT_DAYS:
        error = FieldError(
            loc=("query", "to"), message=f"at most {MAX_REPORT_DAYS} days after 'from'", type="range.too_long"
        )
        return ValidationFailed.from_field_errors([error], f"the range spans {days} days; at most {MAX_REPORT_DAYS}")
    return None


def _report(query: SalesReport, buckets: Sequence[SalesBucket]) -> SalesReportOut:
    """One row per group; an order has a single currency, so its group's per-currency order counts add up."""
    groups: defaultdict[ProductKey | date, list[SalesBucket]] = defaultdict(list)
    for bucket in buckets:
        groups[bucket.key].append(bucket)
    products: list[ProductSales] = []
    days: list[DaySales] = []
    for key, parts in groups.items():
        units, orders = sum(part.units for part in parts), sum(part.orders for part in parts)
        revenue = sorted((MoneyOut(amount=part.revenue, currency=part.currency) for part in parts), key=_currency)
        if isinstance(key, ProductKey):
            product = ProductSales(
                product_id=key.product_id,
                sku=key.sku,
                name=key.name,
                units_sold=units,
                order_count=orders,
                revenue=revenue,
            )
            products.append(product)
        else:
            days.append(DaySales(day=key, units_sold=units, order_count=orders, revenue=revenue))
    products.sort(key=lambda row: (-row.units_sold, row.sku or "", str(row.product_id)))
    days.sort(key=lambda row: row.day)
    return SalesReportOut(
        first_day=query.first_day,
        last_day=query.last_day,
        group_by=query.group_by,
        statuses=list(SALE_STATUSES),
        rows=products if query.group_by is SalesGrouping.PRODUCT else days,
    )


def _currency(money: MoneyOut) -> str:
    return money.currency
