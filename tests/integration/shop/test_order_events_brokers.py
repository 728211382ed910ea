"""The reference service's events across real brokers: an order placed over HTTP leaves through the outbox, the
relay publishes it to RabbitMQ, to Kafka (tansu) or through the Dapr stand-in (the SDK's gRPC API, a Redis stream),
the broker delivers it back (the transport's consumer, or the stand-in POSTing to the app's Dapr route like
daprd), and the catalog's subscription counts it through the inbox: the same scenario as the in-process path
(tests/unit/shop/test_order_events.py), with a broker in the middle."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aio_pika
import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from apibase.core.settings import EventsSettings, Settings
from apibase.testing.dapr_sidecar import DaprStandIn
from apibase.testing.service import service_settings, sign_up
from shop.main import create_app
from shop.testing.order_events import assert_orders_reach_the_sales_counters

pytestmark = pytest.mark.integration

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop") as client,
    ):
        yield app, client


async def _place_and_count(client: httpx.AsyncClient) -> None:
    client.headers.update(await sign_up(client))
    await assert_orders_reach_the_sales_counters(client)


async def test_through_rabbitmq(tmp_path: Path) -> None:
    name = f"shop-events-{uuid.uuid4().hex[:8]}"
    events = EventsSettings(publisher="rabbitmq", topic=name, rabbitmq_queue=name)
    try:
        async with serving(service_settings(tmp_path / "shop.db", events=events)) as (_, client):
            await _place_and_count(client)
    finally:
        await _delete_rabbitmq_names(name)


async def test_through_kafka(tmp_path: Path, kafka_bootstrap_servers: str) -> None:
    topic = f"shop-events-{uuid.uuid4().hex[:8]}"
    events = EventsSettings(
        publisher="kafka", topic=topic, kafka_bootstrap_servers=kafka_bootstrap_servers, kafka_consumer_group=topic
    )
    async with serving(service_settings(tmp_path / "shop.db", events=events)) as (_, client):
        await _place_and_count(client)


async def test_through_the_dapr_sidecar(tmp_path: Path, redis: Redis) -> None:
    """daprd publishes for the app and delivers to it; the stand-in's two halves share one Redis, as two
    sidecars share a pubsub component (the app must exist before anything can deliver to it)."""
    async with AsyncExitStack() as stack:
        publishing = await stack.enter_async_context(DaprStandIn(redis))
        settings = service_settings(
            tmp_path / "shop.db", dapr=publishing.settings, events=EventsSettings(publisher="dapr")
        )
        _, client = await stack.enter_async_context(serving(settings))
        delivering = await stack.enter_async_context(DaprStandIn(redis, app=client, key_prefix=publishing.prefix))
        await _place_and_count(client)
        assert delivering.deliveries.records, "the stand-in delivered nothing: the counters came another way"


async def _delete_rabbitmq_names(name: str) -> None:
    """The exchanges and queues the transport declared for ``name`` (its topic and its queue)."""
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        for queue in (name, f"{name}.dead-letter"):
            await channel.queue_delete(queue)
        for exchange in (name, f"{name}.dead-letter"):
            await channel.exchange_delete(exchange)
