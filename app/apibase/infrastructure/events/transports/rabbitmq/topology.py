"""The exchanges and queues a service uses on RabbitMQ, and declaring them (idempotent, durable).

- ``exchange``: the durable topic exchange the service publishes its events to (``rabbitmq_exchange``, default the
  events topic); the routing key is the CloudEvents ``type``, so a queue binds to exactly the types it handles;
- ``queue``: the service's own durable queue (``rabbitmq_queue``, default the service name), bound to every
  subscribed type; a message it rejects is dead-lettered to ``<exchange>.dead-letter`` under the queue's name;
- ``<queue>.dead-letter``: where this service's dropped and malformed messages wait for an operator (bound to the
  dead-letter exchange by the queue name, so services sharing an exchange keep their dead letters apart);
- ``<queue>.retry.<ms>``: one queue per retry delay. A message waits there ``ms`` (the queue's TTL), then is
  dead-lettered through the default exchange back to ``queue``. One TTL per queue, not per message: RabbitMQ
  expires only the head of a queue, so a long delay would hold back the short ones queued behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from apibase.application.subscriptions import Subscription
from apibase.core.settings import Settings

__all__ = ["Topology", "declare_consumer_queue", "declare_exchange", "declare_retry_queue"]


@dataclass(frozen=True, slots=True)
class Topology:
    """The names of one service's exchange and queues."""

    exchange: str
    queue: str
    #: The service's events topic: subscriptions naming it (or none) bind to ``exchange``.
    topic: str

    @classmethod
    def of(cls, settings: Settings) -> Topology:
        events = settings.events
        return cls(
            exchange=events.rabbitmq_exchange or settings.events_topic,
            queue=events.rabbitmq_queue or settings.service_name,
            topic=settings.events_topic,
        )

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.exchange}.dead-letter"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dead-letter"

    def retry_queue(self, delay_ms: int) -> str:
        return f"{self.queue}.retry.{delay_ms}"

    def exchange_of(self, subscription: Subscription) -> str:
        """The exchange carrying ``subscription``'s events: its topic's, this service's when it names none."""
        if subscription.topic is None or subscription.topic == self.topic:
            return self.exchange
        return subscription.topic

    def bindings(self, subscriptions: Sequence[Subscription]) -> list[tuple[str, str]]:
        """``(exchange, routing key)`` pairs the queue needs, each once, in a stable order."""
        return sorted({(self.exchange_of(subscription), subscription.event_type) for subscription in subscriptions})


async def declare_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(name, ExchangeType.TOPIC, durable=True)


async def declare_consumer_queue(
    channel: AbstractChannel, topology: Topology, subscriptions: Sequence[Subscription]
) -> AbstractQueue:
    """The service's queue bound to the subscribed types, with its dead-letter exchange and queue."""
    dead_letters = await declare_exchange(channel, topology.dead_letter_exchange)
    dead_letter_queue = await channel.declare_queue(topology.dead_letter_queue, durable=True)
    await dead_letter_queue.bind(dead_letters, routing_key=topology.queue)
    queue = await channel.declare_queue(
        topology.queue,
        durable=True,
        arguments={
            "x-dead-letter-exchange": topology.dead_letter_exchange,
            "x-dead-letter-routing-key": topology.queue,
        },
    )
    for exchange_name, event_type in topology.bindings(subscriptions):
        exchange = await declare_exchange(channel, exchange_name)
        await queue.bind(exchange, routing_key=event_type)
    return queue


async def declare_retry_queue(channel: AbstractChannel, topology: Topology, delay_ms: int) -> str:
    """The queue holding retries for ``delay_ms`` before they return to the service's queue; its name."""
    name = topology.retry_queue(delay_ms)
    await channel.declare_queue(
        name,
        durable=True,
        arguments={
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": topology.queue,
        },
    )
    return name
