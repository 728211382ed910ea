"""The orders endpoints: thin translations from HTTP to ordering commands and queries on the buses.

One router per API version, built by ``_orders``: the handlers answer with ``OrderOut`` and each version shows it
in its own representation (v1 flat amounts, v2 money objects), so the versions can never disagree.
"""

# No ``from __future__ import annotations``: FastAPI reads these endpoint annotations at definition time.
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from apibase.application.cqrs.bus import CommandBus, QueryBus
from apibase.application.pagination import ApiResponse, CountStrategy, PaginatedResponse
from apibase.core.types import JsonInt
from apibase.interface.http.conditional import expected_version_from_if_match, if_none_match_matches
from apibase.interface.http.crud import Provider
from apibase.interface.http.openapi import problem_responses
from apibase.interface.http.query_filters import sort_pattern
from apibase.interface.http.responses import (
    IfMatchHeader,
    IfNoneMatchHeader,
    etag_of,
    precondition,
    response_meta,
    unwrap,
)
from apibase.interface.http.security.authorization import require
from shop.catalog.domain.product import CurrencyCode
from shop.ordering.application import (
    CancelOrder,
    GetOrder,
    ListOrders,
    OrderCommand,
    OrderLineRequest,
    OrderOut,
    OrderOutV2,
    PayOrder,
    PlaceOrder,
    ReturnOrder,
    ShipOrder,
)
from shop.ordering.domain.line import MAX_LINE_QUANTITY
from shop.ordering.domain.order import (
    EMAIL_PATTERN,
    MAX_EMAIL_LENGTH,
    MAX_ORDER_LINES,
    MAX_REASON_LENGTH,
    MAX_SHIPPING_ADDRESS_LENGTH,
    OrderId,
)
from shop.ordering.domain.permissions import ORDERS_READ, ORDERS_WRITE
from shop.ordering.domain.status import OrderStatus
from shop.ordering.infrastructure.repository import ORDER_FIELDS

__all__ = [
    "CancelOrderRequest",
    "PlaceOrderRequest",
    "ReturnOrderRequest",
    "orders_router_v1",
    "orders_router_v2",
]


class OrderLine(OrderLineRequest):
    """The request line with its quantity limits in the schema (the aggregate checks them again)."""

    quantity: JsonInt = Field(ge=1, le=MAX_LINE_QUANTITY)


class PlaceOrderRequest(BaseModel):
    """What a client sends; ids, timestamps, the caller and correlation come from the server, never from the body."""

    model_config = ConfigDict(extra="forbid")

    customer_email: str = Field(max_length=MAX_EMAIL_LENGTH, pattern=EMAIL_PATTERN, examples=["ada@example.com"])
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    currency: CurrencyCode | None = None
    shipping_address: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SHIPPING_ADDRESS_LENGTH,
        description="Personal data: stored encrypted, shown only to callers who may read the order",
        examples=["Ada Lovelace, 12 St James's Square, London SW1Y 4JH"],
    )


class CancelOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


class ReturnOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH, examples=["arrived broken"])


OrderPath = Annotated[OrderId, Path(description="The order's id")]


def orders_router_v1(commands: Provider[CommandBus], queries: Provider[QueryBus]) -> APIRouter:
    """The orders with flat amounts (``total``, ``unit_price``, ``subtotal`` beside ``currency``).

    v1 is deprecated and frozen: returns are a v2 operation (a returned order still reads as ``returned`` here)."""
    return _orders(commands, queries, OrderOut, _as_is, returns=False)


def orders_router_v2(commands: Provider[CommandBus], queries: Provider[QueryBus]) -> APIRouter:
    """The orders with every amount a ``{amount, currency}`` object, as v2's product prices."""
    return _orders(commands, queries, OrderOutV2, OrderOutV2.from_v1, returns=True)


def _as_is(order: OrderOut) -> OrderOut:
    return order


def _orders[R: BaseModel](
    commands: Provider[CommandBus],
    queries: Provider[QueryBus],
    model: type[R],
    present: Callable[[OrderOut], R],
    *,
    returns: bool,
) -> APIRouter:
    router = APIRouter(prefix="/orders", tags=["orders"])
    can_read = [require(ORDERS_READ)]
    can_write = [require(ORDERS_WRITE)]
    illegal_move = problem_responses({409: "The order's status does not allow this change"})
    Commands = Annotated[CommandBus, Depends(commands)]  # noqa: N806
    Queries = Annotated[QueryBus, Depends(queries)]  # noqa: N806
    One = ApiResponse[model]  # type: ignore[valid-type]  # noqa: N806
    Many = PaginatedResponse[model]  # type: ignore[valid-type]  # noqa: N806

    def with_etag(order: OrderOut, response: Response) -> ApiResponse[R]:
        if (etag := etag_of(order)) is not None:
            response.headers["ETag"] = etag
        return ApiResponse(data=present(order), meta=response_meta())

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=One,
        summary="Place an order",
        dependencies=can_write,
        responses=problem_responses({409: "A product is unknown, inactive or short of stock, or currencies differ"}),
    )
    async def place(body: PlaceOrderRequest, bus: Commands, request: Request, response: Response) -> ApiResponse[R]:
        command = PlaceOrder(
            customer_email=body.customer_email,
            lines=tuple(body.lines),
            currency=body.currency,
            shipping_address=body.shipping_address,
        )
        order = unwrap(await bus.dispatch(command))
        response.headers["Location"] = f"{request.url.path.rstrip('/')}/{order.id}"
        return with_etag(order, response)

    @router.get("", response_model=Many, summary="List orders, newest first", dependencies=can_read)
    async def list_orders(
        bus: Queries,
        order_status: Annotated[OrderStatus | SkipJsonSchema[None], Query(alias="status")] = None,
        customer_email: Annotated[str | SkipJsonSchema[None], Query(max_length=MAX_EMAIL_LENGTH)] = None,
        sort: Annotated[
            Annotated[str, StringConstraints(pattern=sort_pattern(ORDER_FIELDS))] | SkipJsonSchema[None],
            Query(description="e.g. -total,created_at"),
        ] = None,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        count: CountStrategy = CountStrategy.EXACT,
    ) -> PaginatedResponse[R]:
        query = ListOrders(
            status=order_status, customer_email=customer_email, sort=sort, offset=offset, limit=limit, count=count
        )
        page = unwrap(await bus.ask(query))
        return PaginatedResponse.from_page(page, [present(order) for order in page.items], response_meta())

    @router.get(
        "/{order_id}",
        response_model=One,
        summary="Get an order",
        responses={304: {"description": "Not modified"}},
        dependencies=can_read,
    )
    async def get_order(
        order_id: OrderPath,
        bus: Queries,
        response: Response,
        if_none_match: IfNoneMatchHeader = None,
    ) -> ApiResponse[R] | Response:
        order = unwrap(await bus.ask(GetOrder(order_id=order_id)))
        etag = etag_of(order)
        if etag is not None and if_none_match_matches(if_none_match, etag):
            return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return with_etag(order, response)

    async def change(
        bus: CommandBus, command: OrderCommand, if_match: str | None, response: Response
    ) -> ApiResponse[R]:
        order = unwrap(precondition(await bus.dispatch(command), if_match))
        return with_etag(order, response)

    @router.post(
        "/{order_id}/pay",
        response_model=One,
        summary="Mark an order paid",
        dependencies=can_write,
        responses=illegal_move,
    )
    async def pay(
        order_id: OrderPath, bus: Commands, response: Response, if_match: IfMatchHeader = None
    ) -> ApiResponse[R]:
        expected = expected_version_from_if_match(if_match, order_id)
        return await change(bus, PayOrder(order_id=order_id, expected_version=expected), if_match, response)

    @router.post(
        "/{order_id}/ship",
        response_model=One,
        summary="Ship a paid order",
        dependencies=can_write,
        responses=illegal_move,
    )
    async def ship(
        order_id: OrderPath, bus: Commands, response: Response, if_match: IfMatchHeader = None
    ) -> ApiResponse[R]:
        expected = expected_version_from_if_match(if_match, order_id)
        return await change(bus, ShipOrder(order_id=order_id, expected_version=expected), if_match, response)

    @router.post(
        "/{order_id}/cancel",
        response_model=One,
        summary="Cancel an order that has not shipped",
        dependencies=can_write,
        responses=illegal_move,
    )
    async def cancel(
        order_id: OrderPath, body: CancelOrderRequest, bus: Commands, response: Response, if_match: IfMatchHeader = None
    ) -> ApiResponse[R]:
        expected = expected_version_from_if_match(if_match, order_id)
        command = CancelOrder(order_id=order_id, expected_version=expected, reason=body.reason)
        return await change(bus, command, if_match, response)

    if returns:

        @router.post(
            "/{order_id}/return",
            response_model=One,
            summary="Take back a shipped order",
            description="The order becomes `returned` and every line's quantity goes back in stock.",
            dependencies=can_write,
            responses=illegal_move,
        )
        async def return_order(
            order_id: OrderPath,
            body: ReturnOrderRequest,
            bus: Commands,
            response: Response,
            if_match: IfMatchHeader = None,
        ) -> ApiResponse[R]:
            expected = expected_version_from_if_match(if_match, order_id)
            command = ReturnOrder(order_id=order_id, expected_version=expected, reason=body.reason)
            return await change(bus, command, if_match, response)

    return router
