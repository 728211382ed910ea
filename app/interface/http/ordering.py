"""The orders endpoints: thin translations from HTTP to ordering commands and queries on the buses."""

# No ``from __future__ import annotations``: FastAPI reads these endpoint annotations at definition time.
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from app.application.cqrs.bus import CommandBus, QueryBus
from app.application.ordering import (
    CancelOrder,
    GetOrder,
    ListOrders,
    OrderCommand,
    OrderLineRequest,
    OrderOut,
    PayOrder,
    PlaceOrder,
    ShipOrder,
)
from app.application.pagination import ApiResponse, CountStrategy, PaginatedResponse
from app.core.context import current_request_id
from app.domain.catalog.product import CurrencyCode
from app.domain.ordering.order import MAX_REASON_LENGTH, OrderId
from app.domain.ordering.status import OrderStatus
from app.interface.http.conditional import expected_version_from_if_match, if_none_match_matches
from app.interface.http.responses import etag_of, precondition, response_meta, unwrap

__all__ = ["CancelOrderRequest", "PlaceOrderRequest", "orders_router"]


class PlaceOrderRequest(BaseModel):
    """What a client sends; ids, timestamps and correlation come from the server, never from the body."""

    model_config = ConfigDict(extra="forbid")

    customer_email: str = Field(max_length=320, examples=["ada@example.com"])
    lines: list[OrderLineRequest] = Field(max_length=100)
    currency: CurrencyCode | None = None


class CancelOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


IfMatch = Annotated[str | None, Header(max_length=1024, description="ETag from a GET: refuse stale changes")]
OrderPath = Annotated[OrderId, Path(description="The order's id")]


def orders_router(commands: Callable[[], CommandBus], queries: Callable[[], QueryBus]) -> APIRouter:
    router = APIRouter(prefix="/orders", tags=["orders"])
    Commands = Annotated[CommandBus, Depends(commands)]  # noqa: N806
    Queries = Annotated[QueryBus, Depends(queries)]  # noqa: N806

    def with_etag(order: OrderOut, response: Response) -> ApiResponse[OrderOut]:
        if (etag := etag_of(order)) is not None:
            response.headers["ETag"] = etag
        return ApiResponse(data=order, meta=response_meta())

    @router.post("", status_code=status.HTTP_201_CREATED, summary="Place an order")
    async def place(
        body: PlaceOrderRequest, bus: Commands, request: Request, response: Response
    ) -> ApiResponse[OrderOut]:
        command = PlaceOrder(
            customer_email=body.customer_email,
            lines=tuple(body.lines),
            currency=body.currency,
            correlation_id=current_request_id(),
        )
        order = unwrap(await bus.dispatch(command))
        response.headers["Location"] = f"{request.url.path.rstrip('/')}/{order.id}"
        return with_etag(order, response)

    @router.get("", summary="List orders, newest first")
    async def list_orders(
        bus: Queries,
        order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
        customer_email: Annotated[str | None, Query(max_length=320)] = None,
        sort: Annotated[str | None, Query(max_length=200, description="e.g. -total,created_at")] = None,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        count: CountStrategy = CountStrategy.EXACT,
    ) -> PaginatedResponse[OrderOut]:
        query = ListOrders(
            status=order_status, customer_email=customer_email, sort=sort, offset=offset, limit=limit, count=count
        )
        page = unwrap(await bus.ask(query))
        return PaginatedResponse.from_page(page, page.items, response_meta())

    @router.get(
        "/{order_id}",
        response_model=ApiResponse[OrderOut],
        summary="Get an order",
        responses={304: {"description": "Not modified"}},
    )
    async def get_order(
        order_id: OrderPath,
        bus: Queries,
        response: Response,
        if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
    ) -> ApiResponse[OrderOut] | Response:
        order = unwrap(await bus.ask(GetOrder(order_id=order_id)))
        etag = etag_of(order)
        if etag is not None and if_none_match_matches(if_none_match, etag):
            return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return with_etag(order, response)

    async def change(
        bus: CommandBus, command: OrderCommand, if_match: str | None, response: Response
    ) -> ApiResponse[OrderOut]:
        order = unwrap(precondition(await bus.dispatch(command), if_match))
        return with_etag(order, response)

    @router.post("/{order_id}/pay", summary="Mark an order paid")
    async def pay(
        order_id: OrderPath, bus: Commands, response: Response, if_match: IfMatch = None
    ) -> ApiResponse[OrderOut]:
        expected = expected_version_from_if_match(if_match, order_id)
        return await change(bus, PayOrder(order_id=order_id, expected_version=expected), if_match, response)

    @router.post("/{order_id}/ship", summary="Ship a paid order")
    async def ship(
        order_id: OrderPath, bus: Commands, response: Response, if_match: IfMatch = None
    ) -> ApiResponse[OrderOut]:
        expected = expected_version_from_if_match(if_match, order_id)
        return await change(bus, ShipOrder(order_id=order_id, expected_version=expected), if_match, response)

    @router.post("/{order_id}/cancel", summary="Cancel an order that has not shipped")
    async def cancel(
        order_id: OrderPath, body: CancelOrderRequest, bus: Commands, response: Response, if_match: IfMatch = None
    ) -> ApiResponse[OrderOut]:
        expected = expected_version_from_if_match(if_match, order_id)
        command = CancelOrder(order_id=order_id, expected_version=expected, reason=body.reason)
        return await change(bus, command, if_match, response)

    return router
