"""The catalog module: products (v1 flat prices, v2 money objects) and their images."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from apibase.application.cqrs.bus import QueryBus
from apibase.application.mapped_service import MappedService
from apibase.application.ports.files import FileStore
from apibase.application.request_mapped_service import RequestMappedService
from apibase.domain.events import DomainEvent
from apibase.domain.identity.permissions import Permission
from apibase.infrastructure.observability.business_metrics import CreationCountingService
from apibase.kernel import Kernel
from apibase.module import Features, Migrations
from shop.catalog.application.dto import ProductCreateV2, ProductOutV2, ProductUpdateV2
from shop.catalog.application.product_sales import GetProductSalesHandler
from shop.catalog.application.sales_counters import SalesCounterHandlers
from shop.catalog.application.service import ProductServiceV1, ProductServiceV2
from shop.catalog.domain.events import ProductActivated, ProductDeactivated, ProductOutOfStock, ProductPriceChanged
from shop.catalog.domain.permissions import CATALOG_PERMISSIONS
from shop.catalog.infrastructure.sales_tables import CountedOrderRow, ProductSalesRow
from shop.catalog.infrastructure.tables import ProductRow
from shop.catalog.infrastructure.wiring import build_product_service, sales_counters
from shop.catalog.interface.http import products_router_v1, products_router_v2
from shop.catalog.interface.images import PRODUCT_IMAGE_PATH, UploadPolicy, product_image_router
from shop.catalog.interface.sales import product_sales_router

__all__ = ["CATALOG_EVENTS", "CATALOG_MIGRATIONS", "CatalogModule"]

#: What a product records (price, availability, stock): stored in the outbox with the write that changed it.
CATALOG_EVENTS: tuple[type[DomainEvent], ...] = (
    ProductPriceChanged,
    ProductActivated,
    ProductDeactivated,
    ProductOutOfStock,
)

#: ``legacy``: the revisions of the old single history (before each module had its branch) with the same products.
CATALOG_MIGRATIONS = Migrations(
    name="catalog",
    versions=Path(__file__).resolve().parent / "infrastructure" / "migrations",
    tables=frozenset({ProductRow.__tablename__, ProductSalesRow.__tablename__, CountedOrderRow.__tablename__}),
    legacy={
        "0001": "catalog_0001",
        "0002": "catalog_0001",
        "0003": "catalog_0002",
        "0004": "catalog_0002",
        "0005": "catalog_0003",
        "0006": "catalog_0003",
        "0007": "catalog_0004",
    },
)


@dataclass(frozen=True)
class CatalogModule:
    name: str = "catalog"
    migrations: Migrations | None = CATALOG_MIGRATIONS

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return CATALOG_PERMISSIONS

    def build(self, kernel: Kernel) -> Features:
        catalog = build_product_service(
            kernel.session_factory,
            cursor_codec=kernel.cursor_codec,
            publisher=kernel.publisher,
            outbox=kernel.outbox,
            unit_of_work=kernel.unit_of_work,
            read_unit_of_work=kernel.read_unit_of_work,
        )
        v1: ProductServiceV1 = CreationCountingService(
            catalog, kernel.metrics.counter("products_created", "Products created")
        )
        v2: ProductServiceV2 = RequestMappedService(
            MappedService(v1, ProductOutV2.from_v1), create=ProductCreateV2.to_v1, update=ProductUpdateV2.to_v1
        )

        # Async providers: FastAPI runs a plain-function dependency in a worker thread, a measurable cost per request.
        async def products() -> ProductServiceV1:
            return v1

        async def products_v2() -> ProductServiceV2:
            return v2

        async def files() -> FileStore:
            return kernel.files

        async def queries() -> QueryBus:
            return kernel.queries

        # The sales counters: kept from the ordering module's events (delivered through the inbox), read on the bus.
        kernel.queries.register(GetProductSalesHandler(sales_counters))
        sales = SalesCounterHandlers(sales_counters)
        images = product_image_router(products, files, UploadPolicy(max_bytes=kernel.settings.max_upload_bytes))
        return Features(
            routers={
                "v1": [products_router_v1(products), images],
                "v2": [products_router_v2(products_v2), images, product_sales_router(queries)],
            },
            published_events=CATALOG_EVENTS,
            subscriptions=sales.subscriptions(),
            upload_paths=[PRODUCT_IMAGE_PATH],
        )
