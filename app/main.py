"""The composition root: ``create_app()`` wires settings, persistence, services, buses and routers.

``uvicorn --factory app.main:create_app`` (what ``apibase serve`` runs) calls it once per worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from fastapi import FastAPI

from app.application.catalog.service import ProductService
from app.application.cqrs.bus import CommandBus, QueryBus
from app.bootstrap import Container, ProductServiceV2, build_container
from app.core.settings import Settings, load_settings
from app.interface.http.catalog import products_router_v1, products_router_v2
from app.interface.http.compression import add_compression
from app.interface.http.health import HealthRegistry, build_health_router
from app.interface.http.middleware.body_limit import BodyLimitMiddleware
from app.interface.http.middleware.json_only import JsonOnlyMiddleware
from app.interface.http.middleware.request_id import RequestIdMiddleware
from app.interface.http.ordering import orders_router
from app.interface.http.problems import install_problem_handlers
from app.interface.http.versioning import ApiVersion, DeprecationPolicy, mount_versions

__all__ = ["V1_DEPRECATED", "V1_SUNSET", "create_app"]

#: v1 was superseded by v2 on this date and keeps working until the sunset; both show in v1 response headers.
V1_DEPRECATED = date(2026, 11, 1)
V1_SUNSET = date(2027, 6, 30)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    container = build_container(settings)
    health = HealthRegistry()
    health.register("database", container.check_database, timeout_seconds=2.0)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        try:
            yield
        finally:
            health.draining = True
            await container.stop()

    app = FastAPI(
        title="API Base reference service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.container = container
    install_problem_handlers(app)
    app.include_router(build_health_router(health, started=lambda: container.started))
    mount_versions(app, _versions(container))
    _add_middleware(app, settings)
    return app


def _versions(container: Container) -> list[ApiVersion]:
    # Async providers: FastAPI runs a plain-function dependency in a worker thread, a measurable cost per request.
    async def commands() -> CommandBus:
        return container.commands

    async def queries() -> QueryBus:
        return container.queries

    async def products() -> ProductService:
        return container.products

    async def products_v2() -> ProductServiceV2:
        return container.products_v2

    orders = orders_router(commands, queries)
    v1 = ApiVersion(
        "v1",
        routers=[products_router_v1(products), orders],
        deprecated=DeprecationPolicy(deprecated_at=V1_DEPRECATED, sunset=V1_SUNSET, successor="/api/v2"),
        title="API Base reference service",
        description="Products (offset pages, flat prices) and orders. Deprecated: use v2.",
    )
    v2 = ApiVersion(
        "v2",
        routers=[products_router_v2(products_v2), orders],
        title="API Base reference service",
        description="Products with keyset pagination and money objects, and orders.",
    )
    return [v1, v2]


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """Innermost first: each ``add_middleware`` wraps everything added before it."""
    app.add_middleware(JsonOnlyMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    add_compression(app, minimum_size=settings.compression_minimum_bytes)
    app.add_middleware(RequestIdMiddleware)
