"""The product's sales counters as the API shows them: the ``GetProductSales`` query and its handler."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from apibase.application.cqrs.handlers import QueryHandler
from apibase.application.cqrs.messages import BaseQuery
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.core.errors import AnyAppError, EntityNotFound
from apibase.core.result import Err, Ok, Result
from shop.catalog.application.money import MoneyOut
from shop.catalog.application.sales_counters import SalesCountersFactory, SalesFigures
from shop.catalog.domain.product import ProductId

__all__ = ["GetProductSales", "GetProductSalesHandler", "ProductSalesOut"]


class ProductSalesOut(BaseModel):
    """Counted from the orders' events as they arrive (eventually consistent: a just-placed order may be missing)."""

    product_id: ProductId
    units_ordered: int = Field(description="Units on every order placed with the product")
    units_cancelled: int = Field(description="Units of those orders cancelled before shipping")
    units_shipped: int = Field(description="Units handed to the carrier")
    units_returned: int = Field(description="Units of shipped orders sent back")
    units_net: int = Field(description="Units ordered and kept: ordered minus cancelled minus returned")
    order_count: int = Field(description="Orders placed with the product")
    net_revenue: list[MoneyOut] = Field(
        description="Per currency (never converted): placed orders' subtotals minus what cancellations and returns "
        "gave back"
    )

    @classmethod
    def of(cls, product_id: ProductId, totals: Sequence[SalesFigures]) -> ProductSalesOut:
        ordered = sum(part.units_ordered for part in totals)
        cancelled = sum(part.units_cancelled for part in totals)
        returned = sum(part.units_returned for part in totals)
        return cls(
            product_id=product_id,
            units_ordered=ordered,
            units_cancelled=cancelled,
            units_shipped=sum(part.units_shipped for part in totals),
            units_returned=returned,
            units_net=ordered - cancelled - returned,
            order_count=sum(part.orders for part in totals),
            net_revenue=[
                MoneyOut(amount=part.net_revenue, currency=part.currency)
                for part in sorted(totals, key=lambda part: part.currency)
            ],
        )


class GetProductSales(BaseQuery[ProductSalesOut]):
    product_id: ProductId


class GetProductSalesHandler(QueryHandler[GetProductSales, ProductSalesOut]):
    def __init__(self, counters: SalesCountersFactory) -> None:
        self._counters = counters

    async def handle(self, query: GetProductSales) -> Result[ProductSalesOut, AnyAppError]:
        totals = await self._counters(current_unit_of_work()).totals(query.product_id)
        if totals is None:
            return Err(EntityNotFound(f"Product {query.product_id} does not exist"))
        return Ok(ProductSalesOut.of(query.product_id, totals))
