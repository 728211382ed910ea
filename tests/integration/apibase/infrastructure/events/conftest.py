"""Kafka test helpers as fixtures: a topic of one's own on the session's tansu, a scripted dispatcher, events,
a reader of whole topics and the group's committed offsets.

``ScriptedDispatcher`` implements the ``EventDispatcher`` port (until the subscriptions dispatcher is on main):
it answers each delivery from a script keyed by event id (default ``SUCCESS``) and lets a test await the n-th
delivery instead of sleeping.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent

from apibase.application.subscriptions import Delivery, Subscription
from apibase.infrastructure.events.transports.kafka_records import dead_letter_topic

PARTITIONS = 3
WAIT = 20.0


async def _ignore(_: BaseCloudEvent) -> None:
    return None


@dataclass
class ScriptedDispatcher:
    topic: str
    #: event id -> the outcomes of its successive deliveries (then SUCCESS)
    script: dict[str, list[Delivery]] = field(default_factory=dict)
    delivered: list[tuple[BaseCloudEvent, Delivery]] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def subscriptions(self) -> Sequence[Subscription]:
        return [Subscription("test.kafka", "test.Happened", _ignore, topic=self.topic)]

    async def deliver(self, event: BaseCloudEvent, *, subscription: str | None = None) -> Delivery:
        outcomes = self.script.get(event.get_id(), [])
        outcome = outcomes.pop(0) if outcomes else Delivery.SUCCESS
        async with self._changed:
            self.delivered.append((event, outcome))
            self._changed.notify_all()
        return outcome

    async def wait_for(self, count: int) -> list[tuple[BaseCloudEvent, Delivery]]:
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: len(self.delivered) >= count)
        return list(self.delivered)

    def successes(self) -> list[BaseCloudEvent]:
        return [event for event, outcome in self.delivered if outcome is Delivery.SUCCESS]


def event(subject: str | None, number: int, **extensions: str) -> CloudEvent:
    attributes: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "source": "/tests",
        "type": "test.Happened",
        "datacontenttype": "application/json",
        **extensions,
    }
    if subject is not None:
        attributes["subject"] = subject
    return CloudEvent(attributes, {"number": number})


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    """Await ``condition`` (a broker-side fact no callback announces), polling briefly."""
    async with asyncio.timeout(WAIT):
        while not await condition():  # noqa: ASYNC110 - the broker announces no commit: ask until it holds
            await asyncio.sleep(0.05)


async def committed_offsets(bootstrap_servers: str, group_id: str, topic: str) -> dict[TopicPartition, int]:
    """What ``group_id`` committed on ``topic``, asked as a consumer of the group (the admin client's
    ``list_consumer_group_offsets`` cannot decode tansu's answer)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        committed = {partition: await consumer.committed(partition) for partition in partitions}
    finally:
        await consumer.stop()
    return {partition: offset for partition, offset in committed.items() if offset is not None}


async def read_all(bootstrap_servers: str, topic: str, count: int) -> list[object]:
    """The first ``count`` records of ``topic`` (every partition), read without a group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[object] = []
        async with asyncio.timeout(WAIT):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def create_topics(bootstrap_servers: str, names: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1) for name in names])
    finally:
        await admin.close()


@pytest.fixture
async def topic(kafka_bootstrap_servers: str) -> str:
    """A topic of this test's own (and its dead-letter topic), ``PARTITIONS`` partitions each."""
    name = f"test-{uuid.uuid4().hex[:12]}.events"
    await create_topics(kafka_bootstrap_servers, [name, dead_letter_topic(name)])
    return name


@pytest.fixture
def dispatcher(topic: str) -> ScriptedDispatcher:
    return ScriptedDispatcher(topic)


@pytest.fixture
def new_event() -> Callable[..., CloudEvent]:
    return event


@pytest.fixture
def offsets(kafka_bootstrap_servers: str, topic: str) -> Callable[[str], Awaitable[dict[TopicPartition, int]]]:
    """``await offsets(group)``: the group's committed offsets on the test's topic, by partition."""

    async def read(group_id: str) -> dict[TopicPartition, int]:
        return await committed_offsets(kafka_bootstrap_servers, group_id, topic)

    return read


@pytest.fixture
def records(kafka_bootstrap_servers: str) -> Callable[[str, int], Awaitable[list[object]]]:
    """``await records(topic, n)``: the first ``n`` records of ``topic``."""

    async def read(name: str, count: int) -> list[object]:
        return await read_all(kafka_bootstrap_servers, name, count)

    return read


@pytest.fixture
def until() -> Callable[[Callable[[], Awaitable[bool]]], Awaitable[None]]:
    return eventually
