"""The ordering queries: one order, or a filtered, sorted page of them; nothing is ever committed."""

from __future__ import annotations

from apibase.application.cqrs.handlers import QueryHandler
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.application.pagination import Page, SortField, parse_sort
from apibase.core.errors import AnyAppError
from apibase.core.result import Ok, Result
from apibase.domain.specification import Specification, field
from shop.ordering.application.dto import OrderOut
from shop.ordering.application.lookup import load_order
from shop.ordering.application.messages import GetOrder, ListOrders
from shop.ordering.application.ports import OrderingDependencies
from shop.ordering.domain.errors import InvalidCustomerEmail
from shop.ordering.domain.order import Order, normalise_email

__all__ = ["DEFAULT_ORDER_SORT", "GetOrderHandler", "ListOrdersHandler"]

DEFAULT_ORDER_SORT = (SortField("created_at", descending=True),)


class GetOrderHandler(QueryHandler[GetOrder, OrderOut]):
    def __init__(self, dependencies: OrderingDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, query: GetOrder) -> Result[OrderOut, AnyAppError]:
        orders = self._dependencies.orders(current_unit_of_work())
        return Ok(OrderOut.from_order(await load_order(orders, query.order_id)))


class ListOrdersHandler(QueryHandler[ListOrders, Page[OrderOut]]):
    def __init__(self, dependencies: OrderingDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, query: ListOrders) -> Result[Page[OrderOut], AnyAppError]:
        orders = self._dependencies.orders(current_unit_of_work())
        sort = parse_sort(query.sort, orders.sortable_fields) or DEFAULT_ORDER_SORT
        page = await orders.get_all(
            where=order_filter(query), sort=sort, offset=query.offset, limit=query.limit, count=query.count
        )
        items = [OrderOut.from_order(order) for order in page.items]
        return Ok(Page(items=items, offset=page.offset, limit=page.limit, total=page.total, has_next=page.has_next))


def order_filter(query: ListOrders) -> Specification[Order] | None:
    """The query's filters as one specification (None when it has none); emails match case-insensitively."""
    where: Specification[Order] | None = None
    if query.status is not None:
        where = field("status").eq(query.status.value)
    if query.customer_email is not None:
        by_email = field("customer_email").eq(_as_stored(query.customer_email))
        where = by_email if where is None else where & by_email
    return where


def _as_stored(email: str) -> str:
    """The form ``Order`` stores (IDN domains in Unicode); an address it would refuse can only match nothing."""
    try:
        return normalise_email(email)
    except InvalidCustomerEmail:
        return email.strip().lower()
