"""The RabbitMQ transport: one robust connection, a confirming channel for the relay, a consumer for deliveries.

``start`` connects and declares the exchange and the service's queue (so events published from then on reach
our own subscribers too); ``consume`` runs the consumer for the app's lifetime; ``check`` fails readiness while
the connection is down (aio-pika reconnects by itself and restores channels, queues and the consumer).
"""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustChannel, AbstractRobustConnection

from apibase.application.ports.messaging import EventDispatcher
from apibase.core.settings import Settings
from apibase.infrastructure.events.transports import Transport
from apibase.infrastructure.events.transports.rabbitmq.consumer import RabbitMQConsumer, RetryPolicy
from apibase.infrastructure.events.transports.rabbitmq.sink import RabbitMQSink
from apibase.infrastructure.events.transports.rabbitmq.topology import Topology, declare_exchange
from apibase.infrastructure.pools.status import PoolStatus

__all__ = ["RabbitMQBroker", "rabbitmq_transport"]


class RabbitMQBroker:
    """The service's connection to RabbitMQ and the exchange its events are published to."""

    def __init__(self, url: str, topology: Topology, *, connection_name: str) -> None:
        self._url = url
        self._topology = topology
        self._connection_name = connection_name
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def start(self) -> None:
        if self._connection is not None:
            return
        connection = await aio_pika.connect_robust(
            self._url, client_properties={"connection_name": self._connection_name}
        )
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            self._exchange = await declare_exchange(channel, self._topology.exchange)
            self._channel = channel
        except BaseException:
            await connection.close()
            raise
        self._connection = connection

    async def stop(self) -> None:
        connection, self._connection, self._channel, self._exchange = self._connection, None, None, None
        if connection is not None:
            await connection.close()

    async def check(self) -> None:
        if self._connection is None or not self._connection.connected.is_set():
            raise ConnectionError("not connected to RabbitMQ")

    def status(self) -> PoolStatus:
        """One connection, always in use: the publishing and consuming channels are multiplexed on it."""
        connected = int(self._connection is not None and self._connection.connected.is_set())
        return PoolStatus(limit=1, open=connected, in_use=connected, idle=0)

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise ConnectionError("the RabbitMQ transport is not started")
        return self._connection

    async def exchange(self) -> AbstractExchange:
        """The events exchange once its channel is usable (after a reconnect: restored by aio-pika)."""
        if self._channel is None or self._exchange is None:
            raise ConnectionError("the RabbitMQ transport is not started")
        await self._channel.ready()
        return self._exchange


def rabbitmq_transport(settings: Settings, dispatcher: EventDispatcher) -> Transport:
    events = settings.events
    topology = Topology.of(settings)
    broker = RabbitMQBroker(events.rabbitmq_url.get_secret_value(), topology, connection_name=settings.service_name)
    retry = RetryPolicy(
        max_attempts=events.max_attempts,
        base_seconds=events.backoff_base_seconds,
        max_seconds=events.backoff_max_seconds,
    )
    consumer = RabbitMQConsumer(lambda: broker.connection, topology, dispatcher, retry)

    async def start() -> None:
        await broker.start()
        await consumer.declare()

    async def stop() -> None:
        await consumer.close()
        await broker.stop()

    return Transport(
        sink=RabbitMQSink(broker.exchange),
        consume=consumer.run,
        start=start,
        stop=stop,
        check=broker.check,
        pool=broker.status,
    )
