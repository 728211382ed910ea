"""CloudEvents as Kafka records: the binary content mode of the CloudEvents Kafka protocol binding.

Attributes travel as ``ce_*`` headers (``ce_id``, ``ce_type``, ``ce_traceparent``, ``ce_correlationid``,
``ce_tenantid``, ...), ``datacontenttype`` as ``content-type`` and the event's JSON as the value, so any
CloudEvents-aware consumer (Knative's KafkaSource, another SDK) reads them, and brokers and tools can filter on
headers without parsing the value. Reading accepts the structured mode too (``application/cloudevents+json``).

The record key is the aggregate id (the CloudEvent ``subject``): Kafka keeps order per partition and the key
picks the partition, so one aggregate's events are consumed in the order they were published. Events of no
aggregate have no key (no order to keep).

No Kafka client is imported here: the records are plain values, the adapters (``kafka.py``,
``kafka_consumer.py``) hand them to aiokafka.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import kafka as kafka_binding
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat

__all__ = [
    "DEAD_LETTER_REASON_HEADER",
    "DEAD_LETTER_SUFFIX",
    "KafkaRecord",
    "MalformedRecordError",
    "dead_letter_record",
    "dead_letter_topic",
    "from_record",
    "to_record",
]

DEAD_LETTER_SUFFIX = ".dead-letter"
#: Why a record was dead-lettered (``drop``, ``malformed: ...``, ``retries exhausted``), for whoever inspects it.
DEAD_LETTER_REASON_HEADER = "apibase-dead-letter-reason"
_FORMAT = JSONFormat()


class MalformedRecordError(ValueError):
    """A record that is no CloudEvent: it can never be handled, so it is dead-lettered at once."""


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """What is produced to (or was read from) a topic; headers in order, as the Kafka protocol keeps them."""

    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def dead_letter_topic(topic: str) -> str:
    """Where the records of ``topic`` that can never be handled go (Dapr's and our naming: ``<topic>.dead-letter``)."""
    return topic + DEAD_LETTER_SUFFIX


def _aggregate_key(event: BaseCloudEvent) -> bytes | None:
    subject = event.get_subject()
    return subject.encode() if subject else None


def to_record(event: BaseCloudEvent) -> KafkaRecord:
    """``event`` in binary content mode, keyed by its aggregate id."""
    message = kafka_binding.to_binary(event, _FORMAT, key_mapper=_aggregate_key)
    key = message.key.encode() if isinstance(message.key, str) else message.key
    return KafkaRecord(key=key, value=message.value, headers=tuple(message.headers.items()))


def from_record(headers: Iterable[tuple[str, bytes]], value: bytes | None) -> BaseCloudEvent:
    """The CloudEvent a record carries (binary or structured mode); ``MalformedRecordError`` if it carries none.

    The key is left out on purpose: the binding would add it as a ``partitionkey`` extension, and the event a
    subscriber gets should be the one that was published.
    """
    message = kafka_binding.KafkaMessage(headers=dict(headers), key=None, value=value or b"")
    try:
        return kafka_binding.from_kafka(message, _FORMAT)
    except (BaseCloudEventException, ValueError, TypeError, KeyError) as error:
        raise MalformedRecordError(f"{type(error).__name__}: {error}") from error


def dead_letter_record(
    key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]], reason: str
) -> KafkaRecord:
    """The record as it was read (key, value, headers untouched), plus why it was dead-lettered."""
    kept = tuple((name, content) for name, content in headers if name != DEAD_LETTER_REASON_HEADER)
    return KafkaRecord(
        key=key, value=value or b"", headers=(*kept, (DEAD_LETTER_REASON_HEADER, reason.encode()[:1024]))
    )
