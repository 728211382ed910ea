"""The composition root: ``create_app()`` wires settings, persistence, services, buses and routers.

``uvicorn --factory app.main:create_app`` (what ``apibase serve`` runs) calls it once per worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from functools import partial

from fastapi import FastAPI

from app.application.cqrs.bus import CommandBus, QueryBus
from app.application.identity.service import IdentityService
from app.application.ports.audit import AuditLog
from app.application.ports.files import FileStore
from app.bootstrap import Container, ProductServiceV1, ProductServiceV2, build_container
from app.core.settings import Settings, load_settings
from app.domain.identity.permissions import Permission
from app.infrastructure.files.local import LocalFileStore
from app.infrastructure.observability.business_metrics import observe_login
from app.infrastructure.observability.log_shipping import build_log_shipper, ship_to
from app.infrastructure.observability.logging import configure_logging
from app.infrastructure.observability.tracing import TracingHandle, configure_tracing
from app.interface.http.audit import audit_router
from app.interface.http.catalog import products_router_v1, products_router_v2
from app.interface.http.health import HealthRegistry, build_health_router
from app.interface.http.identity import identity_router
from app.interface.http.internal import internal_router
from app.interface.http.jwks import jwks_router
from app.interface.http.metrics import metrics_router
from app.interface.http.middleware.stack import install_middleware
from app.interface.http.ordering import orders_router_v1, orders_router_v2
from app.interface.http.problems import install_problem_handlers
from app.interface.http.reports import reports_router
from app.interface.http.security.authorization import require
from app.interface.http.uploads import UploadPolicy, product_image_router
from app.interface.http.versioning import ApiVersion, DeprecationPolicy, mount_versions

__all__ = ["V1_DEPRECATED", "V1_SUNSET", "create_app"]

#: v1 was superseded by v2 on this date and keeps working until the sunset; both show in v1 response headers.
V1_DEPRECATED = date(2026, 11, 1)
V1_SUNSET = date(2027, 6, 30)


def create_app(settings: Settings | None = None, *, tracing: TracingHandle | None = None) -> FastAPI:
    """``tracing``: a handle from ``configure_tracing`` to use instead of one built from settings (tests pass one
    with an in-memory exporter)."""
    settings = settings or load_settings()
    json_logs = settings.log_json if settings.log_json is not None else settings.is_production
    shipper = build_log_shipper(settings)
    configure_logging(
        json=json_logs,
        level=settings.log_level,
        service_name=settings.service_name,
        service_version=settings.observability.service_version,
        environment=settings.environment.value,
        masked_fields=settings.observability.masked_fields,
        before_render=[ship_to(shipper)] if shipper is not None else (),
    )
    tracing = tracing or configure_tracing(settings)
    container = build_container(settings, tracer_provider=tracing.tracer_provider, log_shipper=shipper)
    tracing.instrument_engine(container.engine)
    if container.security.redis is not None:
        tracing.instrument_redis(container.security.redis)
    health = HealthRegistry()
    health.register("database", container.check_database, timeout_seconds=2.0)
    health.register("background", container.check_background, timeout_seconds=1.0)
    if container.security.redis is not None:
        health.register("redis", container.check_redis, timeout_seconds=1.0)
    _register_degrading_checks(health, container)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await container.start()
            yield
        finally:
            health.draining = True
            await container.stop()
            tracing.shutdown()

    app = FastAPI(
        title="API Base reference service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.container = container
    app.state.health = health
    app.state.tracing = tracing
    tracing.instrument_app(app)
    install_problem_handlers(app)
    app.include_router(build_health_router(health, started=lambda: container.started))
    app.include_router(jwks_router(lambda: container.security.key_ring))
    if settings.observability.metrics_enabled:
        app.include_router(metrics_router(container.metrics, settings.observability.metrics_path))
    if container.security.request_verifier is not None:
        app.include_router(internal_router())
    mount_versions(app, _versions(container))
    install_middleware(app, settings, container.security.components(metrics=container.metrics))
    return app


def _register_degrading_checks(health: HealthRegistry, container: Container) -> None:
    """Dependencies the service serves without, with less (docs/observability.md, "Readiness")."""
    settings = container.settings
    if settings.secrets.provider != "env":  # files and variables are local: nothing to reach
        health.register("secrets", container.security.check_secrets, timeout_seconds=2.0, vital=False)
    if container.log_shipper is not None:
        health.register("log_sink", container.check_log_sink, timeout_seconds=2.0, vital=False)
    if settings.auth.external_jwks_url is not None:
        health.register("external_jwks", container.security.check_external_jwks, timeout_seconds=2.0, vital=False)


def _versions(container: Container) -> list[ApiVersion]:
    # Async providers: FastAPI runs a plain-function dependency in a worker thread, a measurable cost per request.
    async def commands() -> CommandBus:
        return container.commands

    async def queries() -> QueryBus:
        return container.queries

    async def products() -> ProductServiceV1:
        return container.products

    async def products_v2() -> ProductServiceV2:
        return container.products_v2

    async def identity() -> IdentityService:
        return container.security.identity

    async def audit_log() -> AuditLog:
        return container.security.audit_log

    files = LocalFileStore(container.settings.uploads_dir)

    async def file_store() -> FileStore:
        return files

    auth = identity_router(
        identity,
        on_login=partial(observe_login, container.metrics),
        tenant_header=container.settings.tenancy.header,
    )
    images = product_image_router(products, file_store, UploadPolicy(max_bytes=container.settings.max_upload_bytes))
    audit_readers = [require(Permission.AUDIT_READ)]
    v1 = ApiVersion(
        "v1",
        routers=[products_router_v1(products), images, orders_router_v1(commands, queries), auth],
        deprecated=DeprecationPolicy(deprecated_at=V1_DEPRECATED, sunset=V1_SUNSET, successor="/api/v2"),
        title="API Base reference service",
        description="Products (offset pages, flat prices) and orders. Deprecated: use v2.",
    )
    v2 = ApiVersion(
        "v2",
        routers=[
            products_router_v2(products_v2),
            images,
            orders_router_v2(commands, queries),
            reports_router(queries),
            auth,
            audit_router(audit_log, audit_readers),
        ],
        title="API Base reference service",
        description=(
            "Products with keyset pagination, orders and sales reports, every amount a money object; what you GET you "
            "can PUT back."
        ),
    )
    return [v1, v2]
