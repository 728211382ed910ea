"""RabbitMQ on 127.0.0.1:5672: every test gets exchanges and queues of its own names, deleted afterwards.

``ScriptedDispatcher`` plays the ``EventDispatcher`` port: it answers each delivery as the test scripts and
hands what it was given to the test through a queue, so tests await deliveries instead of sleeping.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent

from apibase.application.subscriptions import Delivery, Subscription
from apibase.core.settings import EventsSettings, Settings
from apibase.infrastructure.events.transports import Transport, build_transport
from apibase.infrastructure.events.transports.rabbitmq.consumer import RetryPolicy
from apibase.infrastructure.events.transports.rabbitmq.topology import Topology

RABBITMQ_URL = os.environ.get("APIBASE_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
PLACED = "apibase.OrderPlaced"
CANCELLED = "apibase.OrderCancelled"
RECEIVE_TIMEOUT = 10.0

type Script = Callable[[BaseCloudEvent, int], Delivery]


async def _nothing(_: BaseCloudEvent) -> None:
    return None


def subscription(event_type: str, *, topic: str | None = None, name: str | None = None) -> Subscription:
    name = name or f"test.{event_type.lower().replace('apibase.', '')}"
    return Subscription(name, event_type, _nothing, topic)


def event(event_type: str = PLACED, *, number: int = 0, **extensions: str) -> CloudEvent:
    attributes: dict[str, object] = {"id": str(uuid.uuid4()), "source": "/test", "type": event_type}
    attributes.update(extensions)
    return CloudEvent(attributes, {"number": number})


class ScriptedDispatcher:
    """An ``EventDispatcher`` answering ``script(event, nth delivery of that event)``."""

    def __init__(self, subscriptions: Sequence[Subscription], script: Script = lambda _, __: Delivery.SUCCESS) -> None:
        self._subscriptions = list(subscriptions)
        self.script = script
        self.calls: Counter[str] = Counter()
        #: ``(event id, subscription asked for)`` per call.
        self.asked: list[tuple[str, str | None]] = []
        self.delivered: asyncio.Queue[tuple[BaseCloudEvent, Delivery]] = asyncio.Queue()

    async def deliver(self, event: BaseCloudEvent, *, subscription: str | None = None) -> Delivery:
        self.calls[event.get_id()] += 1
        self.asked.append((event.get_id(), subscription))
        outcome = self.script(event, self.calls[event.get_id()])
        await self.delivered.put((event, outcome))
        return outcome

    def subscriptions(self) -> Sequence[Subscription]:
        return self._subscriptions

    async def next(self) -> tuple[BaseCloudEvent, Delivery]:
        return await asyncio.wait_for(self.delivered.get(), RECEIVE_TIMEOUT)


@pytest.fixture
def settings() -> Settings:
    name = f"t-{uuid.uuid4().hex[:12]}"
    events = EventsSettings(
        publisher="rabbitmq",
        rabbitmq_url=RABBITMQ_URL,  # type: ignore[arg-type]
        max_attempts=3,
        backoff_base_seconds=0.05,
        backoff_max_seconds=0.1,
    )
    return Settings(service_name=name, events=events)


@pytest.fixture
async def admin(settings: Settings) -> AsyncIterator[AbstractChannel]:
    """A channel of the test's own; deletes every exchange and queue the test's names can have made."""
    connection = await aio_pika.connect(RABBITMQ_URL)
    topology = Topology.of(settings)
    try:
        yield await connection.channel()
    finally:
        channel = await connection.channel()
        retry = RetryPolicy(max_attempts=settings.events.max_attempts, base_seconds=0.05, max_seconds=0.1)
        delays = {retry.delay_ms(attempt) for attempt in range(1, settings.events.max_attempts + 1)}
        queues = [topology.queue, topology.dead_letter_queue, *map(topology.retry_queue, delays)]
        for queue in [*queues, *(f"{topology.queue}.{suffix}" for suffix in ("probe", "tap", "full"))]:
            await channel.queue_delete(queue)
        for exchange in (topology.exchange, topology.dead_letter_exchange, f"{topology.exchange}.foreign"):
            await channel.exchange_delete(exchange)
        await connection.close()


@asynccontextmanager
async def running(settings: Settings, dispatcher: ScriptedDispatcher) -> AsyncIterator[Transport]:
    """The transport started, its consumer running; stopped (and the consumer cancelled) on exit."""
    transport = build_transport(settings, dispatcher)
    assert transport.start is not None
    assert transport.stop is not None
    assert transport.consume is not None
    await transport.start()
    consuming = asyncio.create_task(transport.consume())
    try:
        yield transport
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)
        await transport.stop()


async def take(channel: AbstractChannel, queue: str, count: int) -> list[AbstractIncomingMessage]:
    """The next ``count`` messages of ``queue`` (acked), awaited as they arrive."""
    declared = await channel.declare_queue(queue, passive=True)
    taken: list[AbstractIncomingMessage] = []
    async with declared.iterator() as messages:
        async with asyncio.timeout(RECEIVE_TIMEOUT):
            async for message in messages:
                await message.ack()
                taken.append(message)
                if len(taken) == count:
                    break
    return taken


async def message_count(channel: AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    return declared.declaration_result.message_count or 0


async def robust(url: str = RABBITMQ_URL) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(url)
