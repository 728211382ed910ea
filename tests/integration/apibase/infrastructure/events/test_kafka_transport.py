"""The Kafka publisher and consumer against a real Kafka-protocol broker (tansu, see apibase.testing.kafka_broker).

Each test has a topic of its own (3 partitions) and a consumer group of its own; the dispatcher is scripted.
The consumers run with a 2 s session: tansu lets a group settle for half the session before assigning.
tansu refuses idempotent and transactional producers to aiokafka, so the batches here go through the
``acks=all`` fallback (the transactional calls are checked against a fake producer in the unit tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from apibase.application.subscriptions import Delivery
from apibase.core.settings import Settings
from apibase.infrastructure.events.transports import build_transport
from apibase.infrastructure.events.transports.kafka import KafkaSink, ProducerMode, consume_subscriptions
from apibase.infrastructure.events.transports.kafka_consumer import RetryPolicy, SubscriptionConsumer
from apibase.infrastructure.events.transports.kafka_records import DEAD_LETTER_REASON_HEADER, dead_letter_topic

pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(base_seconds=0.05, max_seconds=0.2, max_attempts=5)


@contextlib.asynccontextmanager
async def consuming(dispatcher, bootstrap_servers: str, group_id: str, retry: RetryPolicy = FAST_RETRY):
    """The transport's consume task for the test's duration; its failure, if any, fails the test."""
    subscriber = SubscriptionConsumer(dispatcher, default_topic="unused.events", retry=retry)
    consume = consume_subscriptions(
        subscriber, bootstrap_servers, group_id, session_timeout_ms=2_000, heartbeat_interval_ms=300
    )
    task = asyncio.create_task(consume)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def sink(kafka_bootstrap_servers: str, topic: str) -> AsyncIterator[KafkaSink]:
    kafka_sink = KafkaSink(kafka_bootstrap_servers, topic, client_id="relay", transactional=True)
    await kafka_sink.start()
    yield kafka_sink
    await kafka_sink.stop()


def group() -> str:
    return f"group-{uuid.uuid4().hex[:8]}"


async def test_a_batch_is_consumed_in_order_per_aggregate(
    sink, dispatcher, kafka_bootstrap_servers, new_event, offsets, until
) -> None:
    batch = [new_event(f"order-{aggregate}", number) for number in range(5) for aggregate in "abcd"]
    batch.append(new_event(None, 99))  # no aggregate, no key: delivered all the same

    await sink.send(batch)
    group_id = group()
    async with consuming(dispatcher, kafka_bootstrap_servers, group_id):
        delivered = await dispatcher.wait_for(len(batch))

        async def all_committed() -> bool:
            return sum((await offsets(group_id)).values()) == len(batch)

        await until(all_committed)

    assert sink.mode is ProducerMode.ACKS_ALL  # tansu grants no producer id (apibase.testing.kafka_broker)
    assert sorted(event.get_id() for event, _ in delivered) == sorted(event.get_id() for event in batch)
    for aggregate in "abcd":
        numbers = [e.get_data()["number"] for e, _ in delivered if e.get_subject() == f"order-{aggregate}"]
        assert numbers == [0, 1, 2, 3, 4], aggregate


async def test_the_cloud_event_arrives_as_published_in_binary_mode_keyed_by_aggregate(
    sink, dispatcher, kafka_bootstrap_servers, topic, new_event, records
) -> None:
    published = new_event(
        "order-7",
        1,
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        correlationid="flow-42",
        tenantid="tenant-a",
    )
    await sink.send([published])
    async with consuming(dispatcher, kafka_bootstrap_servers, group()):
        [(received, _)] = await dispatcher.wait_for(1)
    [record] = await records(topic, 1)

    assert received.get_attributes() == published.get_attributes()
    assert received.get_data() == {"number": 1}
    assert record.key == b"order-7"
    headers = dict(record.headers)
    assert headers["ce_id"] == published.get_id().encode()
    assert headers["ce_type"] == b"test.Happened"
    assert headers["ce_tenantid"] == b"tenant-a"
    assert headers["ce_correlationid"] == b"flow-42"
    assert headers["ce_traceparent"].startswith(b"00-0af7651916cd43dd8448eb211c80319c")
    assert headers["content-type"] == b"application/json"


async def test_a_retried_event_is_handled_again_before_the_later_events_of_its_aggregate(
    sink, dispatcher, kafka_bootstrap_servers, new_event, offsets, until
) -> None:
    first, second, third = (new_event("order-r", number) for number in range(3))
    dispatcher.script[first.get_id()] = [Delivery.RETRY, Delivery.RETRY]
    await sink.send([first, second, third])
    group_id = group()
    async with consuming(dispatcher, kafka_bootstrap_servers, group_id):
        delivered = await dispatcher.wait_for(5)

        async def all_committed() -> bool:
            return sum((await offsets(group_id)).values()) == 3

        await until(all_committed)

    assert [(event.get_id(), outcome) for event, outcome in delivered] == [
        (first.get_id(), Delivery.RETRY),
        (first.get_id(), Delivery.RETRY),
        (first.get_id(), Delivery.SUCCESS),
        (second.get_id(), Delivery.SUCCESS),
        (third.get_id(), Delivery.SUCCESS),
    ]


async def test_a_dropped_event_is_dead_lettered_committed_and_never_delivered_again(
    sink, dispatcher, kafka_bootstrap_servers, topic, new_event, records, offsets, until
) -> None:
    poison, next_one = new_event("order-d", 0), new_event("order-d", 1)
    dispatcher.script[poison.get_id()] = [Delivery.DROP]
    await sink.send([poison, next_one])
    group_id = group()
    async with consuming(dispatcher, kafka_bootstrap_servers, group_id):
        await dispatcher.wait_for(2)

        async def both_committed() -> bool:
            return sum((await offsets(group_id)).values()) == 2

        await until(both_committed)
    [letter] = await records(dead_letter_topic(topic), 1)

    assert dict(letter.headers)["ce_id"] == poison.get_id().encode()
    assert dict(letter.headers)[DEAD_LETTER_REASON_HEADER] == b"drop"
    assert letter.key == b"order-d"
    assert [event.get_id() for event in dispatcher.successes()] == [next_one.get_id()]

    # The group restarted: it resumes after its committed offsets, nothing is delivered twice.
    later = new_event("order-d", 2)
    await sink.send([later])
    dispatcher.delivered.clear()
    async with consuming(dispatcher, kafka_bootstrap_servers, group_id):
        delivered = await dispatcher.wait_for(1)
    assert [event.get_id() for event, _ in delivered] == [later.get_id()]


async def test_a_record_that_is_no_cloud_event_is_dead_lettered_and_the_partition_goes_on(
    sink, dispatcher, kafka_bootstrap_servers, topic, new_event, records
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"not a cloud event", key=b"order-m", headers=[("x-origin", b"test")])
    finally:
        await producer.stop()
    valid = new_event("order-m", 1)
    await sink.send([valid])
    async with consuming(dispatcher, kafka_bootstrap_servers, group()):
        delivered = await dispatcher.wait_for(1)
    [letter] = await records(dead_letter_topic(topic), 1)

    assert [event.get_id() for event, _ in delivered] == [valid.get_id()]
    assert letter.value == b"not a cloud event"
    assert dict(letter.headers)["x-origin"] == b"test"
    assert dict(letter.headers)[DEAD_LETTER_REASON_HEADER].startswith(b"malformed: ")


async def test_an_event_retried_max_attempts_times_is_dead_lettered(
    sink, dispatcher, kafka_bootstrap_servers, topic, new_event, records
) -> None:
    stuck, after = new_event("order-x", 0), new_event("order-x", 1)
    dispatcher.script[stuck.get_id()] = [Delivery.RETRY] * 10
    await sink.send([stuck, after])
    async with consuming(dispatcher, kafka_bootstrap_servers, group(), RetryPolicy(0.02, 0.05, max_attempts=3)):
        delivered = await dispatcher.wait_for(4)
    [letter] = await records(dead_letter_topic(topic), 1)

    assert [(event.get_id(), outcome) for event, outcome in delivered] == [
        (stuck.get_id(), Delivery.RETRY),
        (stuck.get_id(), Delivery.RETRY),
        (stuck.get_id(), Delivery.RETRY),
        (after.get_id(), Delivery.SUCCESS),
    ]
    assert dict(letter.headers)[DEAD_LETTER_REASON_HEADER] == b"retries exhausted after 3 attempts"


async def test_the_transport_built_from_settings_publishes_and_consumes(
    dispatcher, kafka_bootstrap_servers, topic, new_event
) -> None:
    settings = Settings(
        service_name="kafka-tests",
        events={
            "publisher": "kafka",
            "topic": topic,
            "kafka_bootstrap_servers": kafka_bootstrap_servers,
            "kafka_consumer_group": group(),
        },
    )
    transport = build_transport(settings, dispatcher)
    assert transport.start is not None
    assert transport.stop is not None
    assert transport.check is not None
    assert transport.consume is not None

    await transport.start()
    consumer = asyncio.create_task(transport.consume())
    try:
        await transport.check()
        published = new_event("order-s", 1)
        await transport.sink.send([published])
        [(received, _)] = await dispatcher.wait_for(1)
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await transport.stop()
    assert received.get_id() == published.get_id()


async def test_the_readiness_check_fails_once_the_broker_is_gone() -> None:
    from aiokafka.errors import KafkaError

    from apibase.testing.kafka_broker import running_tansu

    with running_tansu() as bootstrap_servers:
        sink = KafkaSink(bootstrap_servers, "gone.events", client_id="relay", transactional=False)
        await sink.start()
        await sink.check()
    try:
        with pytest.raises(KafkaError):
            await sink.check()
    finally:
        await sink.stop()
