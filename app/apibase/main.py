"""The map of a service: settings → infrastructure (the kernel) → kernel modules → feature modules → HTTP app.

``create_app(settings, modules=[...])`` is the one place the object graph is composed; read it top-down. A
service's own factory (``shop.main:create_app`` for the reference service) calls it with its modules, and
``apibase serve`` runs that factory once per worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from fastapi import FastAPI

from apibase.composition.middleware import middleware_stack
from apibase.core.settings import Settings, load_settings
from apibase.domain.identity.permissions import PermissionRegistry
from apibase.domain.identity.roles import RolePolicy, kernel_role_policy
from apibase.infrastructure.observability.log_shipping import LogShipper, build_log_shipper, ship_to
from apibase.infrastructure.observability.logging import configure_logging
from apibase.infrastructure.observability.tracing import TracingHandle, configure_tracing
from apibase.infrastructure.persistence.database import is_sqlite
from apibase.infrastructure.persistence.migrate import upgrade_database_async
from apibase.infrastructure.pools import LOG_SHIPPING, ConnectionPools
from apibase.interface.http.asyncapi import asyncapi_router, link_from_openapi
from apibase.interface.http.health import HealthRegistry, build_health_router
from apibase.interface.http.idle_layers import drop_idle_layers
from apibase.interface.http.internal import internal_router
from apibase.interface.http.metrics import metrics_router
from apibase.interface.http.middleware.stack import install_middleware
from apibase.interface.http.problems import install_problem_handlers
from apibase.interface.http.security.authorization import check_declared
from apibase.interface.http.versioning import ApiVersion, mount_versions
from apibase.kernel import Kernel, build_kernel
from apibase.module import ALL_VERSIONS, Features, Module, migration_branches, permission_registry
from apibase.modules import kernel_modules

__all__ = ["RolePolicyFactory", "ServiceApi", "create_app", "with_kernel_modules"]

type RolePolicyFactory = Callable[[PermissionRegistry], RolePolicy]


@dataclass(frozen=True)
class ServiceApi:
    """The service's public face: its title and its API versions (their routers come from the modules)."""

    title: str = "API Base service"
    versions: Sequence[ApiVersion] = (ApiVersion("v1"),)
    #: The API versions whose ``/audit`` serves the audit trail.
    audit_versions: Sequence[str] = (ALL_VERSIONS,)


@dataclass
class _Runtime:
    """What the lifespan starts and stops, in order."""

    kernel: Kernel
    modules: Sequence[Module]
    features: Sequence[Features]
    health: HealthRegistry
    started: bool = field(default=False)

    async def start(self) -> None:
        """Migrate when asked to (by default only the embedded SQLite database): the kernel's branch and each
        module's, then accept traffic."""
        settings = self.kernel.settings
        migrate = settings.auto_migrate
        if migrate or (migrate is None and is_sqlite(settings.database_url)):
            await upgrade_database_async(settings, migration_branches(self.modules))
        await self.kernel.start()
        for features in self.features:
            if features.on_start is not None:
                await features.on_start()
            for task in features.background_tasks:
                self.kernel.supervisor.spawn(task.name, task.run)
        self.started = True

    async def stop(self) -> None:
        self.started = False
        self.health.draining = True
        for features in reversed(self.features):
            if features.on_stop is not None:
                await features.on_stop()
        await self.kernel.stop()


def create_app(
    settings: Settings | None = None,
    *,
    modules: Sequence[Module] = (),
    api: ServiceApi = ServiceApi(),
    roles: RolePolicyFactory = kernel_role_policy,
    tracing: TracingHandle | None = None,
) -> FastAPI:
    """``roles``: the service's one table of role grants, over the permissions its modules declare; ``tracing``: a
    handle from ``configure_tracing`` to use instead of one built from settings (tests pass an in-memory one)."""
    # 1. settings and the signals every later step reports through
    settings = settings or load_settings()
    pools = ConnectionPools(settings)  # first: the log shipper sends through one of its clients
    shipper = _configure_logging(settings, pools)
    tracing = tracing or configure_tracing(settings)
    # 2. who may do what: every module's permissions, and the service's role grants over them
    every = with_kernel_modules(modules, api)
    policy = roles(permission_registry(every))
    # 3. infrastructure
    kernel = build_kernel(
        settings, roles=policy, tracer_provider=tracing.tracer_provider, log_shipper=shipper, pools=pools
    )
    tracing.instrument_engine(kernel.engine)
    if kernel.security.redis is not None:
        tracing.instrument_redis(kernel.security.redis)
    # 4. the kernel's modules, then the service's feature modules, built on it
    features = [module.build(kernel) for module in every]
    for built in features:
        kernel.handlers.subscribe(built.event_handlers)
        kernel.dispatcher.subscribe(built.subscriptions)
    runtime = _Runtime(kernel, every, features, _health(kernel, features))
    # 5. the HTTP app, refusing a route that checks a permission no module declared
    return _http_app(runtime, api, tracing)


def _configure_logging(settings: Settings, pools: ConnectionPools) -> LogShipper | None:
    shipper = build_log_shipper(settings, client=lambda: pools.http(LOG_SHIPPING))
    configure_logging(
        json=settings.log_json if settings.log_json is not None else settings.is_production,
        level=settings.log_level,
        service_name=settings.service_name,
        service_version=settings.observability.service_version,
        environment=settings.environment.value,
        masked_fields=settings.observability.masked_fields,
        before_render=[ship_to(shipper)] if shipper is not None else (),
    )
    return shipper


def with_kernel_modules(modules: Sequence[Module], api: ServiceApi) -> list[Module]:
    """The kernel's modules, then the service's, in start-up order; two modules may not share a name."""
    every = [*kernel_modules(audit_versions=api.audit_versions), *modules]
    names = [module.name for module in every]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise ValueError(f"two modules share the name(s) {', '.join(duplicates)}")
    return every


def _health(kernel: Kernel, features: Sequence[Features]) -> HealthRegistry:
    """Vital checks take the pod out of rotation; the others report degraded (docs/observability.md)."""
    health = HealthRegistry()
    health.register("database", kernel.check_database, timeout_seconds=2.0)
    health.register("background", kernel.check_background, timeout_seconds=1.0)
    if kernel.security.redis is not None:
        health.register("redis", kernel.check_redis, timeout_seconds=1.0)
    if kernel.log_shipper is not None:
        health.register("log_sink", kernel.check_log_sink, timeout_seconds=2.0, vital=False)
    for built in features:
        for check in built.health_checks:
            health.register(check.name, check.check, check.timeout_seconds, vital=check.vital)
    return health


def _http_app(runtime: _Runtime, api: ServiceApi, tracing: TracingHandle) -> FastAPI:
    kernel, settings = runtime.kernel, runtime.kernel.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await runtime.start()
            yield
        finally:
            await runtime.stop()
            tracing.shutdown()

    app = FastAPI(title=api.title, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.kernel = kernel
    app.state.runtime = runtime
    app.state.health = runtime.health
    app.state.tracing = tracing
    drop_idle_layers(app)  # before the tracing wraps the stack
    tracing.instrument_app(app)
    install_problem_handlers(app)
    app.include_router(build_health_router(runtime.health, started=lambda: runtime.started))
    for built in runtime.features:
        for router in built.root_routers:
            app.include_router(router)
    if settings.observability.metrics_enabled:
        app.include_router(metrics_router(kernel.metrics, settings.observability.metrics_path))
    if kernel.security.request_verifier is not None:
        app.include_router(internal_router())
    app.include_router(asyncapi_router(runtime.features, settings, title=api.title))
    versions = mount_versions(app, [_with_routers(version, runtime.features) for version in api.versions])
    link_from_openapi(versions.values(), runtime.features)
    stack = middleware_stack(
        settings,
        kernel,
        api_versions=[version.name for version in api.versions],
        upload_paths=[path for built in runtime.features for path in built.upload_paths],
    )
    install_middleware(app, stack)
    check_declared(app.routes, kernel.security.roles.registry)
    return app


def _with_routers(version: ApiVersion, features: Sequence[Features]) -> ApiVersion:
    routers = [
        router for built in features for key in (ALL_VERSIONS, version.name) for router in built.routers.get(key, ())
    ]
    return replace(version, routers=[*version.routers, *routers])
