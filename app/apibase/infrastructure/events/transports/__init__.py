"""The publisher chosen in settings (``APIBASE_EVENTS__PUBLISHER``), with what consumes that broker's deliveries.

Each broker's SDK is an optional extra, imported only when that publisher is chosen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, assert_never

from apibase.application.ports.messaging import EventDispatcher, MessageSink
from apibase.core.settings import Settings
from apibase.infrastructure.pools.status import PoolStatus

if TYPE_CHECKING:
    from apibase.infrastructure.dapr.client import DaprSidecar

__all__ = ["Transport", "build_transport"]


@dataclass(frozen=True, slots=True)
class Transport:
    """A broker seen from the service: where the relay sends, and how deliveries reach the dispatcher."""

    sink: MessageSink
    #: Runs for the app's lifetime, consuming the broker's deliveries into the dispatcher (Kafka, RabbitMQ);
    #: ``None`` where the broker pushes to the app's routes (Dapr, Knative) or delivery is in-process.
    consume: Callable[[], Awaitable[None]] | None = None
    start: Callable[[], Awaitable[None]] | None = None
    stop: Callable[[], Awaitable[None]] | None = None
    #: Readiness: raises when the broker cannot be reached.
    check: Callable[[], Awaitable[None]] | None = None
    #: The broker connection's figures for ``connection_pool_*{pool=<publisher>}``, where the client exposes them.
    pool: Callable[[], PoolStatus] | None = None


def build_transport(
    settings: Settings, dispatcher: EventDispatcher, *, sidecar: Callable[[], DaprSidecar] | None = None
) -> Transport:
    """``sidecar``: the process's shared Dapr client (``ConnectionPools.dapr``); the dapr publisher otherwise opens
    one of its own."""
    match settings.events.publisher:
        case "in-process":
            from apibase.infrastructure.events.transports.in_process import in_process_transport  # noqa: PLC0415 - as every case

            return in_process_transport(dispatcher)
        case "dapr":
            from apibase.infrastructure.events.transports.dapr import dapr_transport  # noqa: PLC0415 - the extra

            return dapr_transport(settings, sidecar() if sidecar is not None else None)
        case "kafka":
            from apibase.infrastructure.events.transports.kafka import build_kafka_transport  # noqa: PLC0415 - the extra

            return build_kafka_transport(settings, dispatcher)
        case "rabbitmq":
            from apibase.infrastructure.events.transports.rabbitmq.transport import (  # noqa: PLC0415 - the extra
                rabbitmq_transport,
            )

            return rabbitmq_transport(settings, dispatcher)
        case unknown:  # settings admit only the four above; mypy checks this stays unreachable
            assert_never(unknown)
