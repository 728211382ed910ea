"""The ordering queries: one order, or a filtered, sorted page of them; nothing is ever committed."""

from __future__ import annotations

from apibase.application.cqrs.handlers import QueryHandler
from apibase.application.pagination import Page, SortField, parse_sort
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import AnyAppError
from apibase.core.result import Result
from apibase.domain.specification import Specification, field
from shop.ordering.application.dto import OrderOut
from shop.ordering.application.lookup import load_order
from shop.ordering.application.messages import GetOrder, ListOrders
from shop.ordering.application.ports import OrderingDependencies
from shop.ordering.application.transaction import run_query
from shop.ordering.domain.errors import InvalidCustomerEmail
from shop.ordering.domain.order import Order, normalise_email

__all__ = ["DEFAULT_ORDER_SORT", "GetOrderHandler", "ListOrdersHandler"]

DEFAULT_ORDER_SORT = (SortField("created_at", descending=True),)


class GetOrderHandler(QueryHandler[GetOrder, OrderOut]):
    def __init__(self, dependencies: OrderingDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, query: GetOrder) -> Result[OrderOut, AnyAppError]:
        async def work(uow: UnitOfWork) -> OrderOut:
            return OrderOut.from_order(await load_order(self._dependencies.orders(uow), query.order_id))

        return await run_query(self._dependencies.unit_of_work, work)


class ListOrdersHandler(QueryHandler[ListOrders, Page[OrderOut]]):
    def __init__(self, dependencies: OrderingDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, query: ListOrders) -> Result[Page[OrderOut], AnyAppError]:
        async def work(uow: UnitOfWork) -> Page[OrderOut]:
            orders = self._dependencies.orders(uow)
            sort = parse_sort(query.sort, orders.sortable_fields) or DEFAULT_ORDER_SORT
            page = await orders.get_all(
                where=order_filter(query), sort=sort, offset=query.offset, limit=query.limit, count=query.count
            )
            items = [OrderOut.from_order(order) for order in page.items]
            return Page(items=items, offset=page.offset, limit=page.limit, total=page.total, has_next=page.has_next)

        return await run_query(self._dependencies.unit_of_work, work)


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
