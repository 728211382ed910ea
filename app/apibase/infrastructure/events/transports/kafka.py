"""Kafka as the events publisher (``APIBASE_EVENTS__PUBLISHER=kafka``), with aiokafka.

The relay's batch is produced to ``Settings.events_topic`` keyed by aggregate id (order per aggregate holds per
partition), in the CloudEvents Kafka binding's binary mode (``kafka_records``). ``send`` returns once every
record is acknowledged by all in-sync replicas (``acks=all``) and raises otherwise, so the relay deletes an
outbox row only after Kafka has it.

The producer is the strongest the broker grants, tried in this order at start:

- ``transactional`` (``events.kafka_transactional``, the default): the whole batch in one Kafka transaction,
  so a ``read_committed`` consumer sees all of it or none, never the first half of a batch the relay retries;
- ``idempotent``: the broker drops the duplicates the producer's own retries would write;
- ``acks-all``: neither (a broker that refuses ``InitProducerId``, e.g. tansu 0.6 with aiokafka; see
  ``apibase/testing/kafka_broker.py``). Order per partition still holds: aiokafka
  keeps one request in flight per partition. A retried batch may be written twice; the inbox absorbs it.

Its transactional id is unique per process: fencing a zombie relay is not what keeps order here, the outbox
claim is (``FOR UPDATE SKIP LOCKED`` and the per-aggregate rule of the relay).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.errors import KafkaConnectionError, KafkaError  # type: ignore[import-untyped]
from cloudevents.core.base import BaseCloudEvent

from apibase.infrastructure.events.transports import Transport
from apibase.infrastructure.events.transports.kafka_consumer import RetryPolicy, SubscriptionConsumer
from apibase.infrastructure.events.transports.kafka_records import KafkaRecord, to_record

if TYPE_CHECKING:
    from apibase.application.ports.messaging import EventDispatcher
    from apibase.core.settings import Settings

__all__ = [
    "KafkaSink",
    "ProducerMode",
    "build_kafka_transport",
    "consume_subscriptions",
    "produce",
    "start_producer",
]

logger: Final = logging.getLogger(__name__)


class ProducerMode(StrEnum):
    """What the broker guarantees for a batch, strongest first."""

    TRANSACTIONAL = "transactional"
    IDEMPOTENT = "idempotent"
    ACKS_ALL = "acks-all"


def _options(mode: ProducerMode, client_id: str) -> dict[str, object]:
    match mode:
        case ProducerMode.TRANSACTIONAL:
            return {"transactional_id": f"{client_id}.{uuid.uuid4()}", "enable_idempotence": True}
        case ProducerMode.IDEMPOTENT:
            return {"enable_idempotence": True}
        case ProducerMode.ACKS_ALL:
            return {"enable_idempotence": False}


async def start_producer(
    bootstrap_servers: str, *, client_id: str, transactional: bool
) -> tuple[AIOKafkaProducer, ProducerMode]:
    """A started producer in the strongest mode the broker grants (``transactional`` allows the first).

    An unreachable broker raises at once (``KafkaConnectionError``): only a broker that answers but refuses a
    producer id (``InitProducerId``) makes the next mode be tried.
    """
    modes = list(ProducerMode) if transactional else [ProducerMode.IDEMPOTENT, ProducerMode.ACKS_ALL]
    for mode in modes:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers, client_id=client_id, acks="all", **_options(mode, client_id)
        )
        try:
            await producer.start()
        except KafkaConnectionError:
            await producer.stop()
            raise
        except KafkaError as error:
            await producer.stop()
            if mode is modes[-1]:
                raise
            logger.warning("Kafka broker refused the %s producer (%r); trying the next mode", mode, error)
            continue
        return producer, mode
    raise AssertionError("unreachable: the last mode raises")  # pragma: no cover


async def produce(producer: AIOKafkaProducer, topic: str, records: Sequence[KafkaRecord]) -> None:
    """Enqueue ``records`` in order and wait until the broker acknowledged every one; raise the first failure."""
    pending = [
        await producer.send(topic, record.value, key=record.key, headers=list(record.headers)) for record in records
    ]
    await asyncio.gather(*pending)


class KafkaSink:
    """The relay's ``MessageSink`` over one aiokafka producer (``start`` before ``send``)."""

    def __init__(self, bootstrap_servers: str, topic: str, *, client_id: str, transactional: bool) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._client_id = client_id
        self._transactional = transactional
        self._producer: AIOKafkaProducer | None = None
        self._mode: ProducerMode | None = None
        # A producer has at most one open transaction: batches sent concurrently queue here.
        self._transaction_lock = asyncio.Lock()

    @property
    def mode(self) -> ProducerMode:
        """The guarantee the broker granted; known once started."""
        if self._mode is None:
            raise RuntimeError("the Kafka sink is not started")
        return self._mode

    async def start(self) -> None:
        if self._producer is None:
            self._producer, self._mode = await start_producer(
                self._bootstrap_servers, client_id=self._client_id, transactional=self._transactional
            )
            logger.info("Kafka events publisher started (%s) on %s", self._mode, self._topic)

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def check(self) -> None:
        """Readiness: the cluster answers a metadata request."""
        await self._running().client.fetch_all_metadata()

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        if not messages:
            return
        producer = self._running()
        records = [to_record(message) for message in messages]
        if self.mode is not ProducerMode.TRANSACTIONAL:
            await produce(producer, self._topic, records)
            return
        async with self._transaction_lock:
            await producer.begin_transaction()
            try:
                await produce(producer, self._topic, records)
            except BaseException:
                await producer.abort_transaction()
                raise
            await producer.commit_transaction()

    def _running(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the Kafka sink is not started")
        return self._producer


def build_kafka_transport(settings: Settings, dispatcher: EventDispatcher) -> Transport:
    """The sink the relay sends through, and the consumer that feeds this service's subscriptions."""
    events = settings.events
    sink = KafkaSink(
        events.kafka_bootstrap_servers,
        settings.events_topic,
        client_id=settings.service_name,
        transactional=events.kafka_transactional,
    )
    subscriptions = SubscriptionConsumer(
        dispatcher,
        default_topic=settings.events_topic,
        retry=RetryPolicy(events.backoff_base_seconds, events.backoff_max_seconds, events.max_attempts),
    )
    group_id = events.kafka_consumer_group or settings.service_name

    async def consume() -> None:
        await consume_subscriptions(subscriptions, events.kafka_bootstrap_servers, group_id)

    return Transport(sink=sink, consume=consume, start=sink.start, stop=sink.stop, check=sink.check)


async def consume_subscriptions(
    subscriptions: SubscriptionConsumer,
    bootstrap_servers: str,
    group_id: str,
    *,
    session_timeout_ms: int = 10_000,
    heartbeat_interval_ms: int = 3_000,
) -> None:
    """The transport's ``consume`` task: group ``group_id`` over the subscribed topics, until cancelled.

    Returns at once when nothing is subscribed. Dead letters go through a producer of their own (the sink's
    may be transactional, and a record outside a transaction is refused there). A shorter session makes a
    group settle sooner after a member joins or leaves (tansu waits half of it for members), at the price of
    rebalances when a member stalls.
    """
    topics = subscriptions.topics()
    if not topics:
        return
    dead_letters, _ = await start_producer(bootstrap_servers, client_id=group_id, transactional=False)

    async def dead_letter(topic: str, record: KafkaRecord) -> None:
        await produce(dead_letters, topic, [record])

    try:
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )
        try:
            await consumer.start()
            logger.info("Kafka consumer group %s reads %s", group_id, ", ".join(topics))
            await subscriptions.run(consumer, dead_letter)
        finally:
            await consumer.stop()
    finally:
        await dead_letters.stop()
