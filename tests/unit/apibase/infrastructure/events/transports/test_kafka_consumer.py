"""The consumer's retry schedule, the topics it reads and which subscriptions a record runs; retries and dead
letters run against tansu in the integration tests."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent

from apibase.application.subscriptions import Delivery, Subscription
from apibase.infrastructure.events.transports.kafka import consume_subscriptions
from apibase.infrastructure.events.transports.kafka_consumer import RetryPolicy, SubscriptionConsumer
from apibase.infrastructure.events.transports.kafka_records import KafkaRecord, to_record

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


class _Record:
    def __init__(self, topic: str, offset: int, event: CloudEvent) -> None:
        record = to_record(event)
        self.topic, self.offset, self.key, self.value, self.headers = (
            topic,
            offset,
            record.key,
            record.value,
            record.headers,
        )


class _Consumer:
    """One poll's worth of records; records what the loop commits."""

    def __init__(self, batches: dict[str, list[_Record]]) -> None:
        self._batches = batches
        self.committed: list[dict[str, int]] = []

    async def getmany(self, *, timeout_ms: int) -> dict[str, list[_Record]]:
        batches, self._batches = self._batches, {}
        return batches

    async def commit(self, offsets: dict[str, int]) -> None:
        self.committed.append(dict(offsets))

    def seek(self, partition: str, offset: int) -> None:
        raise AssertionError("nothing is retried here")

    def pause(self, *partitions: str) -> None:
        raise AssertionError("nothing is retried here")

    def resume(self, *partitions: str) -> None:
        raise AssertionError("nothing is retried here")

    def assignment(self) -> set[str]:
        return set(self._batches)


class _RecordingDispatcher(_Dispatcher):
    def __init__(self, subscriptions: Sequence[Subscription]) -> None:
        super().__init__(subscriptions)
        self.deliveries: list[tuple[str, str | None]] = []

    async def deliver(self, event: BaseCloudEvent, *, subscription: str | None = None) -> Delivery:
        self.deliveries.append((event.get_id(), subscription))
        return Delivery.SUCCESS


def _event(event_id: str, event_type: str) -> CloudEvent:
    return CloudEvent({"id": event_id, "source": "/s", "type": event_type, "subject": "agg"}, {"n": 1})


async def test_a_record_runs_only_the_subscriptions_of_its_topic_and_type_then_is_committed() -> None:
    dispatcher = _RecordingDispatcher(
        [
            Subscription("catalog.on-placed", "apibase.OrderPlaced", _handler),
            Subscription("catalog.also-on-placed", "apibase.OrderPlaced", _handler),
            Subscription("catalog.on-foreign-placed", "apibase.OrderPlaced", _handler, topic="other.events"),
            Subscription("catalog.on-cancelled", "apibase.OrderCancelled", _handler),
        ]
    )
    consumer = _Consumer(
        {
            "shop.events-0": [
                _Record("shop.events", 0, _event("e1", "apibase.OrderPlaced")),
                _Record("shop.events", 1, _event("e2", "apibase.NobodyListens")),
            ]
        }
    )
    subscriptions = SubscriptionConsumer(dispatcher, default_topic="shop.events", retry=RetryPolicy(1, 1, 3))

    async def no_dead_letters(topic: str, record: KafkaRecord) -> None:
        raise AssertionError("nothing is dead-lettered here")

    await subscriptions.poll(consumer, no_dead_letters)

    assert dispatcher.deliveries == [("e1", "catalog.on-placed"), ("e1", "catalog.also-on-placed")]
    assert consumer.committed == [{"shop.events-0": 2}]


async def test_nothing_subscribed_means_no_consumer_at_all() -> None:
    subscriptions = SubscriptionConsumer(_Dispatcher([]), default_topic="shop.events", retry=RetryPolicy(1, 1, 1))

    # An unreachable broker: returning without error proves no connection was attempted.
    assert await consume_subscriptions(subscriptions, "127.0.0.1:1", "shop") is None
