"""The service's subscriptions fed from Kafka: one consumer group, an offset committed only after handling.

Every record goes through ``dispatcher.deliver`` (subscriptions, inbox, tenant, trace) for each subscription
that reads its topic and handles its type, and the outcome decides what happens to the partition's offset:

- ``SUCCESS``: the offset moves past it (committed after the batch; a crash before that redelivers the record
  and the inbox makes it a no-op);
- ``RETRY`` (or the dispatcher raising): the partition seeks back to the record and pauses for the backoff
  (``events.backoff_*``, doubling), then the record is tried again. The other partitions go on; later records
  of this partition wait, so an aggregate's events are never handled out of order. After
  ``events.max_attempts`` tries it is dead-lettered like a ``DROP``;
- ``DROP`` or a record that is no CloudEvent: the record, untouched, goes to ``<topic>.dead-letter`` with the
  reason in a header, then the offset moves past it. If the dead-letter topic cannot be written, the record
  is retried instead: nothing is skipped unrecorded.

Offsets are committed by the consumer, not inside a producer transaction: handlers write to the database, not
to Kafka, so at least once plus the inbox is the guarantee (exactly once would need the inbox and the offsets in
one store). The consumer reads ``read_committed``: records of a relay batch that aborted are never handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from cloudevents.core.base import BaseCloudEvent

from apibase.application.ports.messaging import EventDispatcher
from apibase.application.subscriptions import Delivery
from apibase.infrastructure.events.transports.kafka_records import (
    KafkaRecord,
    MalformedRecordError,
    dead_letter_record,
    dead_letter_topic,
    from_record,
)

__all__ = ["DeadLetterWriter", "PartitionedConsumer", "RetryPolicy", "SubscriptionConsumer"]

logger: Final = logging.getLogger(__name__)
_MAX_POLL_WAIT_SECONDS = 1.0

#: Writes one record to a topic and returns once the broker has it (raises otherwise).
type DeadLetterWriter = Callable[[str, KafkaRecord], Awaitable[None]]


class ConsumedRecord(Protocol):
    """The parts of a consumed record read here (aiokafka's ``ConsumerRecord``)."""

    @property
    def topic(self) -> str: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


class PartitionedConsumer(Protocol):
    """The calls of a started consumer in a group (``aiokafka.AIOKafkaConsumer``); partitions are opaque keys.

    Kept as a port so this loop imports no Kafka client: only ``kafka.py`` needs the optional extra.
    """

    async def getmany(self, *, timeout_ms: int) -> Mapping[Hashable, Sequence[ConsumedRecord]]: ...
    async def commit(self, offsets: Mapping[Hashable, int]) -> None: ...
    def seek(self, partition: Hashable, offset: int) -> None: ...
    def pause(self, *partitions: Hashable) -> None: ...
    def resume(self, *partitions: Hashable) -> None: ...
    def assignment(self) -> Collection[Hashable]: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long a partition waits before a record that asked to be retried is tried again, and how often."""

    base_seconds: float
    max_seconds: float
    max_attempts: int

    def delay(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failed try (1-based): base, doubling, capped."""
        return float(min(self.max_seconds, self.base_seconds * 2 ** min(attempt - 1, 62)))


@dataclass(slots=True)
class _Backoff:
    """Per-partition retry state: tries of the record at the head, and when the paused partition resumes."""

    attempts: dict[tuple[Hashable, int], int] = field(default_factory=dict)
    resume_at: dict[Hashable, float] = field(default_factory=dict)


class SubscriptionConsumer:
    """Hands a consumer group's records to the dispatcher, committing, retrying and dead-lettering as above."""

    def __init__(self, dispatcher: EventDispatcher, *, default_topic: str, retry: RetryPolicy) -> None:
        self._dispatcher = dispatcher
        self._default_topic = default_topic
        self._retry = retry
        self._backoff = _Backoff()

    def topics(self) -> list[str]:
        """Every topic a subscription reads (``Subscription.topic``, else this service's own)."""
        return sorted({subscription.topic or self._default_topic for subscription in self._dispatcher.subscriptions()})

    async def run(self, consumer: PartitionedConsumer, dead_letter: DeadLetterWriter) -> None:
        """Poll and deliver until cancelled."""
        while True:
            await self.poll(consumer, dead_letter)

    async def poll(self, consumer: PartitionedConsumer, dead_letter: DeadLetterWriter) -> None:
        """One round: resume partitions whose backoff is over, deliver what arrived, commit what was handled."""
        wait = self._resume_due(consumer)
        batches = await consumer.getmany(timeout_ms=int(wait * 1000))
        handled: dict[Hashable, int] = {}
        for partition, records in batches.items():
            for record in records:
                if not await self._handled(partition, record, dead_letter):
                    self._back_off(consumer, partition, record.offset)
                    break
                handled[partition] = record.offset + 1
        if handled:
            try:
                await consumer.commit(handled)
            except Exception:
                # E.g. the group rebalanced meanwhile: the records are redelivered and the inbox absorbs them.
                logger.exception("committing Kafka offsets failed; the records will be delivered again")

    async def _handled(self, partition: Hashable, record: ConsumedRecord, dead_letter: DeadLetterWriter) -> bool:
        """Deliver ``record``; ``False`` when it must be tried again (the partition then backs off)."""
        try:
            event = from_record(record.headers, record.value)
        except MalformedRecordError as error:
            return await self._dead_letter(partition, record, f"malformed: {error}", dead_letter)
        try:
            outcome = await self._deliver(record.topic, event)
        except Exception:
            logger.exception("delivering Kafka record %s@%s failed; it will be retried", partition, record.offset)
            outcome = Delivery.RETRY
        if outcome is Delivery.SUCCESS:
            self._backoff.attempts.pop((partition, record.offset), None)
            return True
        if outcome is Delivery.DROP:
            return await self._dead_letter(partition, record, "drop", dead_letter)
        key = (partition, record.offset)
        attempts = self._backoff.attempts[key] = self._backoff.attempts.get(key, 0) + 1
        if attempts >= self._retry.max_attempts:
            reason = f"retries exhausted after {attempts} attempts"
            return await self._dead_letter(partition, record, reason, dead_letter)
        return False

    async def _deliver(self, topic: str, event: BaseCloudEvent) -> Delivery:
        """Run the subscriptions that read ``topic`` and handle the event's type (another topic's subscription to
        the same type is not for this record); ``SUCCESS`` when none does: the record is not ours to keep."""
        names = [
            subscription.name
            for subscription in self._dispatcher.subscriptions()
            if (subscription.topic or self._default_topic) == topic and subscription.event_type == event.get_type()
        ]
        outcomes = {await self._dispatcher.deliver(event, subscription=name) for name in names}
        # As Dapr with several routes: retry if any asked to (the ones that succeeded are deduplicated by the inbox).
        return next((outcome for outcome in (Delivery.RETRY, Delivery.DROP) if outcome in outcomes), Delivery.SUCCESS)

    async def _dead_letter(
        self, partition: Hashable, record: ConsumedRecord, reason: str, dead_letter: DeadLetterWriter
    ) -> bool:
        """Park ``record`` on its dead-letter topic; ``False`` if that failed (then it is retried, not lost)."""
        letter = dead_letter_record(record.key, record.value, record.headers, reason)
        try:
            await dead_letter(dead_letter_topic(record.topic), letter)
        except Exception:
            logger.exception("dead-lettering Kafka record %s@%s failed; it will be retried", partition, record.offset)
            return False
        logger.warning("Kafka record %s@%s dead-lettered: %s", partition, record.offset, reason)
        self._backoff.attempts.pop((partition, record.offset), None)
        return True

    def _back_off(self, consumer: PartitionedConsumer, partition: Hashable, offset: int) -> None:
        """Rewind ``partition`` to ``offset`` and pause it for the retry delay."""
        if partition not in consumer.assignment():  # revoked while handling: the new owner redelivers the record
            return
        attempts = max(1, self._backoff.attempts.get((partition, offset), 1))
        consumer.seek(partition, offset)
        consumer.pause(partition)
        self._backoff.resume_at[partition] = asyncio.get_running_loop().time() + self._retry.delay(attempts)

    def _resume_due(self, consumer: PartitionedConsumer) -> float:
        """Resume the partitions whose backoff is over; how long the next poll may wait."""
        now = asyncio.get_running_loop().time()
        assigned = consumer.assignment()
        wait = _MAX_POLL_WAIT_SECONDS
        for partition, due in list(self._backoff.resume_at.items()):
            if partition not in assigned:  # revoked by a rebalance: its new owner starts from the committed offset
                del self._backoff.resume_at[partition]
            elif due <= now:
                del self._backoff.resume_at[partition]
                consumer.resume(partition)
            else:
                wait = min(wait, due - now)
        return max(wait, 0.0)
