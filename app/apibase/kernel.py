"""The kernel's object graph: the infrastructure every module builds on, made once per application (ADR 0003).

Per-use-case objects (units of work, repositories) are made by the factories held here; modules receive the
``Kernel`` in ``Module.build`` and take what they need from it, never from globals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry.trace import TracerProvider
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from apibase.application.cqrs.behaviours import LoggingBehaviour
from apibase.application.cqrs.bus import CommandBus, QueryBus, transactional_buses
from apibase.application.cursor import CursorCodec
from apibase.application.in_memory.events import InMemoryEventPublisher
from apibase.application.ports.events import EventPublisher
from apibase.application.ports.files import FileStore
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.settings import Settings
from apibase.domain.identity.roles import RolePolicy
from apibase.infrastructure.background import Supervisor
from apibase.infrastructure.crypto.field_encryption import FieldEncryptor
from apibase.infrastructure.crypto.key_ring_from_settings import encryptor_from_settings
from apibase.infrastructure.events.dispatcher import SubscriptionDispatcher
from apibase.infrastructure.events.outbox import SqlOutbox
from apibase.infrastructure.files.local import LocalFileStore
from apibase.infrastructure.messaging import FanOutPublisher
from apibase.infrastructure.messaging.local_handlers import LocalEventHandlers
from apibase.infrastructure.observability.cqrs_tracing import TracingBehaviour
from apibase.infrastructure.observability.log_shipping import LogShipper
from apibase.infrastructure.observability.metrics import Metrics
from apibase.infrastructure.observability.shipper_metrics import ShipperCollector
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.pools import ConnectionPools, report_pools
from apibase.infrastructure.pools.status import database_status
from apibase.infrastructure.resilience import CircuitBreakers, guarded_sql_unit_of_work_factory
from apibase.security import SecurityContainer, build_security

__all__ = ["SHUTDOWN_FLUSH_SECONDS", "Kernel", "build_kernel"]

#: How long shutdown waits for the log shipper and the other background tasks to finish.
SHUTDOWN_FLUSH_SECONDS = 5.0


@dataclass
class Kernel:
    """Application-scoped infrastructure shared by every module."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    #: Opens a breaker-guarded SQL unit of work: what every use case commits through.
    unit_of_work: Callable[[], UnitOfWork]
    cursor_codec: CursorCodec
    #: Where every committing command's events are stored, in its transaction; the events module's relay sends them.
    outbox: SqlOutbox
    #: Hears committed events in process (after the commit): the handlers below and the recorder.
    publisher: EventPublisher
    #: Subscribers modules registered (``Features.event_handlers``), called by ``publisher``.
    handlers: LocalEventHandlers
    #: Every published event, kept in memory (tests and the development console read it).
    events: InMemoryEventPublisher
    encryptor: FieldEncryptor
    files: FileStore
    commands: CommandBus
    queries: QueryBus
    security: SecurityContainer
    #: One breaker per dependency; health checks deliberately bypass them (they must report the truth).
    breakers: CircuitBreakers
    metrics: Metrics
    #: Runs the modules' subscriptions on delivered events, through the inbox (``Features.subscriptions``).
    dispatcher: SubscriptionDispatcher
    #: Every pooled client to an external service (Redis, HTTP), shared by the adapters; closed last at stop.
    pools: ConnectionPools
    log_shipper: LogShipper | None = None
    #: Runs every background task (the log shipper's flush loop, modules' tasks), restarting crashed ones.
    supervisor: Supervisor = field(default_factory=Supervisor)

    async def start(self) -> None:
        await self.security.start()
        if self.log_shipper is not None:
            self.log_shipper.start(self.supervisor)

    async def stop(self) -> None:
        if self.log_shipper is not None:  # before the supervisor: the buffer is flushed, not cancelled
            await self.log_shipper.stop(grace_seconds=SHUTDOWN_FLUSH_SECONDS)
        await self.supervisor.stop(grace_seconds=SHUTDOWN_FLUSH_SECONDS)
        await self.security.stop()
        await self.engine.dispose()
        await self.pools.close()
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


def build_kernel(
    settings: Settings,
    *,
    roles: RolePolicy,
    tracer_provider: TracerProvider | None = None,
    log_shipper: LogShipper | None = None,
    pools: ConnectionPools | None = None,
) -> Kernel:
    """``roles``: the service's role policy, over the permissions its modules declared; ``pools``: the shared
    clients when the caller made them already (the log shipper's HTTP client is one), else made here."""
    encryptor = encryptor_from_settings(settings)  # first: production without keys fails before anything opens
    engine = create_engine(settings)
    session_factory = create_session_factory(engine)
    pools = pools or ConnectionPools(settings)
    pools.track("database", lambda: database_status(engine.pool))
    metrics = Metrics()
    metrics.track_database(engine)
    report_pools(metrics, pools.statuses)
    if log_shipper is not None:
        metrics.registry.register(ShipperCollector(log_shipper))
    # Domain events leave only through the outbox (stored with the change, as CloudEvents that carry the trace
    # context, correlation id and tenant); the in-process subscribers hear them after the commit.
    events, handlers = InMemoryEventPublisher(), LocalEventHandlers()
    outbox = SqlOutbox(source=f"/{settings.service_name}", topic=settings.events_topic)
    breakers = CircuitBreakers()
    guarded = guarded_sql_unit_of_work_factory(session_factory, breakers)
    publisher = FanOutPublisher(events, handlers)
    # Tracing outermost: the bus's own log lines are written inside the handler's span. The transaction innermost:
    # each message gets a unit of work of its own, its events stored in the outbox before the commit; a command that
    # lost a version race and may run again does so in a fresh one.
    commands, queries = transactional_buses(
        guarded, publisher, outer=[TracingBehaviour(tracer_provider), LoggingBehaviour()], outbox=outbox
    )
    return Kernel(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        unit_of_work=guarded,
        cursor_codec=CursorCodec(settings.security.secret_key.get_secret_value()),
        outbox=outbox,
        publisher=publisher,
        handlers=handlers,
        events=events,
        encryptor=encryptor,
        files=LocalFileStore(settings.uploads_dir),
        commands=commands,
        queries=queries,
        security=build_security(
            settings, session_factory, roles=roles, commands=commands, pools=pools, encryptor=encryptor
        ),
        breakers=breakers,
        metrics=metrics,
        dispatcher=SubscriptionDispatcher(guarded, metrics=metrics, before_commit=outbox.store_raised),
        pools=pools,
        log_shipper=log_shipper,
    )
