"""``GET /products/{id}/sales`` (v2): the sales counters the catalog keeps from the ordering module's events."""

# No ``from __future__ import annotations``: FastAPI reads these endpoint annotations at definition time.
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from apibase.application.cqrs.bus import QueryBus
from apibase.application.pagination import ApiResponse
from apibase.interface.http.crud import Provider
from apibase.interface.http.responses import response_meta, unwrap
from apibase.interface.http.security.authorization import require
from shop.catalog.application.product_sales import GetProductSales, ProductSalesOut
from shop.catalog.domain.permissions import PRODUCTS_READ
from shop.catalog.domain.product import ProductId

__all__ = ["product_sales_router"]


def product_sales_router(queries: Provider[QueryBus]) -> APIRouter:
    router = APIRouter(prefix="/products", tags=["products"])
    Queries = Annotated[QueryBus, Depends(queries)]  # noqa: N806
    ProductPath = Annotated[ProductId, Path(description="The product's id")]  # noqa: N806

    @router.get(
        "/{product_id}/sales",
        response_model=ApiResponse[ProductSalesOut],
        summary="Sales counters of a product",
        description=(
            "Units ordered, cancelled, shipped and returned, orders, and net revenue per currency of one product of "
            "the caller's tenant, counted from the orders' events as they are delivered: at least once, deduplicated, "
            "so an order placed a moment ago may not show yet. A product without sales has zero counters."
        ),
        dependencies=[require(PRODUCTS_READ)],
    )
    async def product_sales(bus: Queries, product_id: ProductPath) -> ApiResponse[ProductSalesOut]:
        sales = unwrap(await bus.ask(GetProductSales(product_id=product_id)))
        return ApiResponse(data=sales, meta=response_meta())

    return router
