"""The consumer's retry schedule and the topics it reads; its deliveries run against tansu in the integration tests."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from cloudevents.core.base import BaseCloudEvent

from apibase.application.subscriptions import Delivery, Subscription
from apibase.infrastructure.events.transports.kafka_consumer import RetryPolicy, SubscriptionConsumer

pytestmark = pytest.mark.unit


async def _handler(_: BaseCloudEvent) -> None:
    return None


class _Dispatcher:
    def __init__(self, subscriptions: Sequence[Subscription]) -> None:
        self._subscriptions = subscriptions

    async def deliver(self, event: BaseCloudEvent, *, subscription: str | None = None) -> Delivery:
        return Delivery.SUCCESS

    def subscriptions(self) -> Sequence[Subscription]:
        return self._subscriptions


def test_the_retry_delay_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=0.5, max_seconds=3.0, max_attempts=10)

    assert [policy.delay(attempt) for attempt in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(10_000) == 3.0


def test_the_topics_are_the_subscriptions_own_else_the_services() -> None:
    subscriptions = [
        Subscription("catalog.on-placed", "apibase.OrderPlaced", _handler),
        Subscription("catalog.on-paid", "apibase.PaymentTaken", _handler, topic="payments.events"),
        Subscription("catalog.on-cancelled", "apibase.OrderCancelled", _handler),
    ]

    consumer = SubscriptionConsumer(_Dispatcher(subscriptions), default_topic="shop.events", retry=RetryPolicy(1, 1, 1))

    assert consumer.topics() == ["payments.events", "shop.events"]
    assert SubscriptionConsumer(_Dispatcher([]), default_topic="shop.events", retry=RetryPolicy(1, 1, 1)).topics() == []
