"""The names a service uses on RabbitMQ, from its settings."""

from __future__ import annotations

import pytest

from apibase.application.subscriptions import Subscription
from apibase.core.settings import EventsSettings, Settings
from apibase.infrastructure.events.transports.rabbitmq.topology import Topology

pytestmark = pytest.mark.unit


async def _handler(_: object) -> None:
    return None


def test_the_exchange_is_the_events_topic_and_the_queue_the_service_by_default() -> None:
    topology = Topology.of(Settings(service_name="shop"))
    assert (topology.exchange, topology.queue) == ("shop.events", "shop")
    assert (topology.dead_letter_exchange, topology.dead_letter_queue) == (
        "shop.events.dead-letter",
        "shop.dead-letter",
    )
    assert topology.retry_queue(500) == "shop.retry.500"


def test_settings_name_the_exchange_and_the_queue() -> None:
    events = EventsSettings(topic="orders", rabbitmq_exchange="bus", rabbitmq_queue="shop-replica")
    topology = Topology.of(Settings(service_name="shop", events=events))
    assert (topology.exchange, topology.queue, topology.topic) == ("bus", "shop-replica", "orders")


def test_the_queue_binds_each_subscribed_type_once_on_its_topics_exchange() -> None:
    topology = Topology.of(Settings(service_name="shop", events=EventsSettings(rabbitmq_exchange="bus")))
    subscriptions = [
        Subscription("a.placed", "apibase.OrderPlaced", _handler),
        Subscription("b.placed", "apibase.OrderPlaced", _handler, topic="shop.events"),
        Subscription("c.paid", "billing.Paid", _handler, topic="billing.events"),
    ]
    assert topology.bindings(subscriptions) == [("billing.events", "billing.Paid"), ("bus", "apibase.OrderPlaced")]
