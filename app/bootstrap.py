"""The object graph of the reference service, built once per application from settings (ADR 0003)."""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry.trace import TracerProvider
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.access import permission_registry, role_policy
from app.application.catalog.dto import (
    ProductCreate,
    ProductCreateV2,
    ProductOut,
    ProductOutV2,
    ProductUpdate,
    ProductUpdateV2,
)
from app.application.cqrs.behaviours import LoggingBehaviour
from app.application.cqrs.bus import CommandBus, QueryBus
from app.application.cursor import CursorCodec
from app.application.in_memory.events import InMemoryEventPublisher
from app.application.mapped_service import MappedService
from app.application.ports.service import Service
from app.application.request_mapped_service import RequestMappedService
from app.bootstrap_security import SecurityContainer, build_security
from app.core.settings import Settings
from app.domain.catalog.product import Product, ProductId
from app.infrastructure.background import Supervisor
from app.infrastructure.crypto.key_ring_from_settings import encryptor_from_settings
from app.infrastructure.messaging import CloudEventPublisher, FanOutPublisher, InMemoryMessageSink
from app.infrastructure.observability.business_metrics import CreationCountingService, MeteredEventPublisher
from app.infrastructure.observability.cqrs_tracing import TracingBehaviour
from app.infrastructure.observability.log_shipping import LogShipper
from app.infrastructure.observability.metrics import Metrics
from app.infrastructure.observability.shipper_metrics import ShipperCollector
from app.infrastructure.persistence.catalog.wiring import build_product_service
from app.infrastructure.persistence.database import create_engine, create_session_factory, is_sqlite
from app.infrastructure.persistence.migrate import upgrade_database_async
from app.infrastructure.persistence.ordering.wiring import build_ordering
from app.infrastructure.resilience import CircuitBreakers, guarded_sql_unit_of_work_factory

__all__ = ["Container", "ProductServiceV1", "ProductServiceV2", "build_container"]

#: How long shutdown waits for the log shipper and the other background tasks to finish.
SHUTDOWN_FLUSH_SECONDS = 5.0

type ProductServiceV1 = Service[Product, ProductCreate, ProductUpdate, ProductOut, ProductId]
#: v2 on the same service as v1: its requests translated to v1's, its responses derived from v1's.
type ProductServiceV2 = Service[Product, ProductCreateV2, ProductUpdateV2, ProductOutV2, ProductId]


@dataclass
class Container:
    """Application-scoped objects; per-use-case objects (units of work) are made by factories inside."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    events: InMemoryEventPublisher
    products: ProductServiceV1
    products_v2: ProductServiceV2
    commands: CommandBus
    queries: QueryBus
    security: SecurityContainer
    #: One breaker per dependency; health checks deliberately bypass them (they must report the truth).
    breakers: CircuitBreakers
    metrics: Metrics
    messages: InMemoryMessageSink
    log_shipper: LogShipper | None = None
    #: Runs every background task (the log shipper's flush loop, ...), restarting crashed ones with backoff.
    supervisor: Supervisor = field(default_factory=Supervisor)
    started: bool = field(default=False)

    async def start(self) -> None:
        """Migrate when asked to (by default only the embedded SQLite database), then accept traffic."""
        migrate = self.settings.auto_migrate
        if migrate or (migrate is None and is_sqlite(self.settings.database_url)):
            await upgrade_database_async(self.settings)
        await self.security.start()
        if self.log_shipper is not None:
            self.log_shipper.start(self.supervisor)
        self.started = True

    async def stop(self) -> None:
        self.started = False
        if self.log_shipper is not None:  # before the supervisor: the buffer is flushed, not cancelled
            await self.log_shipper.stop(grace_seconds=SHUTDOWN_FLUSH_SECONDS)
        await self.supervisor.stop(grace_seconds=SHUTDOWN_FLUSH_SECONDS)
        await self.security.stop()
        await self.engine.dispose()
        self.metrics.close()

    async def check_database(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def check_background(self) -> None:
        """Not ready once a task that must not die (``restart=False``) has failed."""
        if self.supervisor.failure is not None:
            raise RuntimeError(f"background task {self.supervisor.failure[0]} failed")

    async def check_log_sink(self) -> None:
        """The log cluster answers (no-op without one): shipping is best effort, so this check is not vital."""
        if self.log_shipper is not None:
            await self.log_shipper.ping()

    async def check_redis(self) -> None:
        if self.security.redis is not None:
            await self.security.redis.ping()


def build_container(
    settings: Settings, *, tracer_provider: TracerProvider | None = None, log_shipper: LogShipper | None = None
) -> Container:
    encryptor = encryptor_from_settings(settings)  # first: production without keys fails before anything opens
    engine = create_engine(settings)
    session_factory = create_session_factory(engine)
    codec = CursorCodec(settings.security.secret_key.get_secret_value())
    events = InMemoryEventPublisher()
    metrics = Metrics()
    metrics.track_database(engine)
    if log_shipper is not None:
        metrics.registry.register(ShipperCollector(log_shipper))
    # Domain events reach the in-process subscribers and leave as CloudEvents that carry the trace context and the
    # correlation id (a broker or outbox replaces the in-memory sink).
    messages = InMemoryMessageSink()
    outgoing = CloudEventPublisher(messages, source=f"/{settings.service_name}")
    publisher = MeteredEventPublisher(FanOutPublisher(events, outgoing), metrics)
    breakers = CircuitBreakers()
    guarded = guarded_sql_unit_of_work_factory(session_factory, breakers)
    catalog = build_product_service(session_factory, cursor_codec=codec, publisher=publisher, unit_of_work=guarded)
    products: ProductServiceV1 = CreationCountingService(catalog, metrics.product_created)
    commands, queries = build_ordering(
        session_factory,
        cursor_codec=codec,
        publisher=publisher,
        unit_of_work=guarded,
        encryptor=encryptor,
        # Tracing outermost: the bus's own log lines are written inside the handler's span.
        command_behaviours=[TracingBehaviour(tracer_provider), LoggingBehaviour()],
        query_behaviours=[TracingBehaviour(tracer_provider), LoggingBehaviour()],
    )
    return Container(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        events=events,
        products=products,
        products_v2=RequestMappedService(
            MappedService(products, ProductOutV2.from_v1), create=ProductCreateV2.to_v1, update=ProductUpdateV2.to_v1
        ),
        commands=commands,
        queries=queries,
        security=build_security(
            settings,
            session_factory,
            roles=role_policy(permission_registry()),
            unit_of_work=guarded,
            encryptor=encryptor,
        ),
        breakers=breakers,
        metrics=metrics,
        messages=messages,
        log_shipper=log_shipper,
    )
