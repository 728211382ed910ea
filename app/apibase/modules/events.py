"""Events as a kernel module: the outbox relay and the broker transport, and the routes brokers deliver to.

- **Out.** The transport chosen in settings (``APIBASE_EVENTS__PUBLISHER``: in-process, Dapr, Kafka, RabbitMQ) is
  built here; the outbox relay sends the committed events through its sink, as a background task woken by every
  commit that stored events (``settings.events.relay_enabled``: turn it off in processes that should not publish,
  e.g. when a separate worker runs the relay). The transport is started before the relay and stopped after it.
- **In.** The transport's consumer (Kafka, RabbitMQ) runs as a background task; Dapr and Knative deliver to the
  routes of ``event_routes`` (Dapr's subscriptions, the Knative Trigger's target). The subscriptions themselves come
  from every module's ``Features.subscriptions`` (registered on ``kernel.dispatcher`` by ``create_app``).
- **Health.** The transport's check is a readiness check that is not vital: while the broker is away the service
  still takes writes (their events wait in the outbox), so it reports ``degraded`` rather than leaving rotation.

The outbox, dead-letter and inbox tables belong to the kernel's migration branch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apibase.domain.identity.permissions import Permission
from apibase.infrastructure.events.relay import OutboxRelay, RelayMetrics, RelayPolicy
from apibase.infrastructure.events.transports import Transport, build_transport
from apibase.interface.http.events import event_routes
from apibase.kernel import Kernel
from apibase.module import BackgroundTask, Features, HealthCheck, Migrations

__all__ = ["EventsModule", "outbox_relay"]


def outbox_relay(kernel: Kernel, transport: Transport) -> OutboxRelay:
    """The relay of this service: the kernel's outbox table, the transport's sink, the settings' policy."""
    return OutboxRelay(
        kernel.session_factory,
        transport.sink,
        policy=RelayPolicy.from_settings(kernel.settings.events),
        metrics=RelayMetrics(kernel.metrics),
        wake=kernel.outbox.commits,
    )


@dataclass(frozen=True)
class EventsModule:
    name: str = "events"
    #: Its tables belong to the kernel's own migration branch (``apibase``).
    migrations: Migrations | None = None

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {}

    def build(self, kernel: Kernel) -> Features:
        transport = build_transport(kernel.settings, kernel.dispatcher, sidecar=kernel.pools.dapr)
        if transport.pool is not None:
            kernel.pools.track(kernel.settings.events.publisher, transport.pool)
        relay = outbox_relay(kernel, transport)
        tasks: list[BackgroundTask] = []
        if kernel.settings.events.relay_enabled:
            tasks.append(BackgroundTask("outbox-relay", relay.run))
        if transport.consume is not None:
            tasks.append(BackgroundTask("events-consumer", transport.consume))
        checks = [] if transport.check is None else [HealthCheck("events_transport", transport.check, vital=False)]

        async def start() -> None:
            if transport.start is not None:
                await transport.start()

        async def stop() -> None:
            await relay.stop()  # its round settles before the transport goes away
            if transport.stop is not None:
                await transport.stop()

        return Features(
            root_routers=[event_routes(kernel.dispatcher, kernel.settings)],
            background_tasks=tasks,
            health_checks=checks,
            on_start=start,
            on_stop=stop,
        )
