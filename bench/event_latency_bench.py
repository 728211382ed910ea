"""Publish-to-handled latency through RabbitMQ: the events transport beside a bare aio-pika loop, same payloads.

Run with ``.venv/bin/python bench/event_latency_bench.py [--events N] [--rounds R]`` against the RabbitMQ on
127.0.0.1:5672 (or ``APIBASE_BENCH_RABBITMQ_URL``). Both variants use the broker the same way: a durable topic
exchange, persistent messages published with confirms, a durable queue consumed with manual acks.

- ``transport``: what the outbox relay and the subscriptions use, ``build_transport`` for ``publisher=rabbitmq``:
  ``sink.send([event])`` (structured CloudEvent, routing key = type, confirm awaited) → the service's queue →
  the consumer (decode, ``dispatcher.deliver``, ack). The dispatcher is a trivial handler that notes the time: no
  inbox, no database, so the number is the transport's own;
- ``bare``: the same CloudEvent JSON bodies published with ``exchange.publish`` and taken by a plain
  ``queue.consume`` callback that notes the time and acks.

One event is in flight at a time; latency runs from the call that publishes to the handler running. After a
warm-up, rounds alternate between the variants and every sample counts. Prints p50, p99 and mean per variant.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "app"))

import aio_pika  # noqa: E402
from aio_pika.abc import AbstractIncomingMessage  # noqa: E402
from cloudevents.core.base import BaseCloudEvent  # noqa: E402
from cloudevents.core.bindings import rabbitmq  # noqa: E402
from cloudevents.core.v1.event import CloudEvent  # noqa: E402

from apibase.application.subscriptions import Delivery, Subscription  # noqa: E402
from apibase.core.settings import EventsSettings, Settings  # noqa: E402
from apibase.infrastructure.events.transports import Transport, build_transport  # noqa: E402
from apibase.infrastructure.events.transports.rabbitmq.topology import Topology  # noqa: E402

URL = os.environ.get("APIBASE_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
EVENT_TYPE = "apibase.OrderPlaced"
WARM_UP = 100

type Publish = Callable[[BaseCloudEvent], Awaitable[None]]


def payloads(count: int) -> list[CloudEvent]:
    """Order-placed events as the outbox stores them: trace context, correlation id, tenant, a few lines."""
    events = []
    for n in range(count):
        attributes = {
            "id": str(uuid.uuid4()),
            "source": "/shop",
            "type": EVENT_TYPE,
            "subject": f"order-{n}",
            "datacontenttype": "application/json",
            "traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
            "correlationid": str(uuid.uuid4()),
            "tenantid": "acme",
        }
        lines = [{"product_id": f"p-{n}-{line}", "quantity": line + 1, "unit_price": "9.90"} for line in range(3)]
        events.append(CloudEvent(attributes, {"order_id": f"order-{n}", "customer": "c-1", "lines": lines}))
    return events


class Stopwatch:
    """Notes when each awaited event id is handled."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[float]] = {}

    def expect(self, event_id: str) -> asyncio.Future[float]:
        future = self._waiting[event_id] = asyncio.get_running_loop().create_future()
        return future

    def handled(self, event_id: str | None) -> None:
        now = time.perf_counter()
        future = self._waiting.pop(event_id or "", None)
        if future is not None:
            future.set_result(now)


class TimingDispatcher:
    """The ``EventDispatcher`` port with one trivial subscription: it only stops the watch."""

    def __init__(self, stopwatch: Stopwatch) -> None:
        self._stopwatch = stopwatch

    async def deliver(self, event: BaseCloudEvent, *, subscription: str | None = None) -> Delivery:
        self._stopwatch.handled(event.get_id())
        return Delivery.SUCCESS

    def subscriptions(self) -> Sequence[Subscription]:
        return [Subscription("bench.order-placed", EVENT_TYPE, self._nothing)]

    @staticmethod
    async def _nothing(_: BaseCloudEvent) -> None:
        return None


async def measure(publish: Publish, stopwatch: Stopwatch, events: Sequence[BaseCloudEvent]) -> list[float]:
    """Seconds from publishing each event to its handler, one event in flight at a time."""
    latencies = []
    for event in events:
        handled = stopwatch.expect(event.get_id())
        started = time.perf_counter()
        await publish(event)
        latencies.append(await asyncio.wait_for(handled, 30) - started)
    return latencies


async def with_transport(settings: Settings, stopwatch: Stopwatch) -> tuple[Transport, asyncio.Task[None]]:
    transport = build_transport(settings, TimingDispatcher(stopwatch))
    assert transport.start is not None and transport.consume is not None  # noqa: PT018 - the rabbitmq case has both
    await transport.start()
    return transport, asyncio.create_task(transport.consume())


async def bare_loop(name: str, stopwatch: Stopwatch) -> tuple[Publish, aio_pika.abc.AbstractConnection]:
    connection = await aio_pika.connect_robust(URL)
    channel = await connection.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=32)
    exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(name, durable=True)
    await queue.bind(exchange, routing_key=EVENT_TYPE)

    async def on_message(message: AbstractIncomingMessage) -> None:
        stopwatch.handled(message.message_id)
        await message.ack()

    await queue.consume(on_message)

    async def publish(event: BaseCloudEvent) -> None:
        body = rabbitmq.to_structured_event(event).body
        message = aio_pika.Message(
            body,
            content_type="application/cloudevents+json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=event.get_id(),
        )
        await exchange.publish(message, routing_key=EVENT_TYPE)

    return publish, connection


async def clean_up(names: Sequence[str]) -> None:
    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    for name in names:
        await channel.queue_delete(name)
        await channel.exchange_delete(name)
    await connection.close()


def row(name: str, seconds: Sequence[float]) -> str:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    p50, p99, mean = cuts[49] * 1000, cuts[98] * 1000, statistics.fmean(seconds) * 1000
    return f"{name:<10} {p50:>9.3f} {p99:>9.3f} {mean:>9.3f}"


async def main(count: int, rounds: int) -> int:
    service = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(service_name=service, events=EventsSettings(publisher="rabbitmq", rabbitmq_url=URL))  # type: ignore[arg-type]
    topology = Topology.of(settings)
    bare_name = f"{service}.bare"
    stopwatch = Stopwatch()
    transport, consuming = await with_transport(settings, stopwatch)
    bare, bare_connection = await bare_loop(bare_name, stopwatch)

    async def through_transport(event: BaseCloudEvent) -> None:
        await transport.sink.send([event])

    variants: dict[str, Publish] = {"bare": bare, "transport": through_transport}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for publish in variants.values():
            await measure(publish, stopwatch, payloads(WARM_UP))
        for _ in range(rounds):
            for name, publish in variants.items():
                samples[name] += await measure(publish, stopwatch, payloads(count))
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)
        assert transport.stop is not None
        await transport.stop()
        await bare_connection.close()
        await clean_up(
            [bare_name, topology.queue, topology.exchange, topology.dead_letter_queue, topology.dead_letter_exchange]
        )

    print(f"publish-to-handled latency through RabbitMQ, {count} events x {rounds} rounds, one in flight (ms)")
    print(f"{'variant':<10} {'p50':>9} {'p99':>9} {'mean':>9}")
    for name, seconds in samples.items():
        print(row(name, seconds))
    ratio = statistics.median(samples["transport"]) / statistics.median(samples["bare"])
    print(f"p50 transport/bare = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    raise SystemExit(asyncio.run(main(arguments.events, arguments.rounds)))
