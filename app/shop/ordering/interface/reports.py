"""The reports endpoints (v2 only): read-only summaries asked of the query bus, each behind ``reports:read``."""

# No ``from __future__ import annotations``: FastAPI reads these endpoint annotations at definition time.
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from apibase.application.cqrs.bus import QueryBus
from apibase.application.pagination import ApiResponse
from apibase.interface.http.crud import Provider
from apibase.interface.http.openapi import problem_responses
from apibase.interface.http.responses import response_meta, unwrap
from apibase.interface.http.security.authorization import require
from shop.ordering.application import MAX_REPORT_DAYS, SalesGrouping, SalesReport, SalesReportOut
from shop.ordering.domain.permissions import REPORTS_READ

__all__ = ["reports_router"]


def reports_router(queries: Provider[QueryBus]) -> APIRouter:
    router = APIRouter(prefix="/reports", tags=["reports"])
    Queries = Annotated[QueryBus, Depends(queries)]  # noqa: N806

    @router.get(
        "/sales",
        response_model=ApiResponse[SalesReportOut],
        summary="Sales per product or per day",
        description=(
            "Units sold, orders and revenue (one money object per currency) of the caller's tenant, counting orders "
            "that are `paid` or `shipped`, on the UTC day they were paid; `placed`, `cancelled` and `returned` "
            f"orders are not sales. At most {MAX_REPORT_DAYS} days per report."
        ),
        dependencies=[require(REPORTS_READ)],
        responses=problem_responses({422: "A date is malformed, `from` is after `to`, or the range is too long"}),
    )
    async def sales(
        bus: Queries,
        first_day: Annotated[date, Query(alias="from", description="The first day (UTC), e.g. 2026-01-01")],
        last_day: Annotated[date, Query(alias="to", description="The last day (UTC), included")],
        group_by: SalesGrouping = SalesGrouping.PRODUCT,
    ) -> ApiResponse[SalesReportOut]:
        report = unwrap(await bus.ask(SalesReport(first_day=first_day, last_day=last_day, group_by=group_by)))
        return ApiResponse(data=report, meta=response_meta())

    return router
