"""The sink's transactional path, against a fake producer: tansu (the test broker) grants aiokafka no producer id,
so a real transaction cannot be opened here (apibase.testing.kafka_broker). The other modes run against tansu."""

from __future__ import annotations

import asyncio

import pytest
from cloudevents.core.v1.event import CloudEvent

from apibase.infrastructure.events.transports import kafka
from apibase.infrastructure.events.transports.kafka import KafkaSink, ProducerMode

pytestmark = pytest.mark.unit


class _Producer:
    """Records the calls; sends of a value in ``failing`` fail like a rejected record."""

    def __init__(self, failing: frozenset[bytes] = frozenset()) -> None:
        self.calls: list[tuple[str, ...]] = []
        self._failing = failing

    async def begin_transaction(self) -> None:
        self.calls.append(("begin",))

    async def send(self, topic: str, value: bytes, *, key: bytes | None, headers: list[tuple[str, bytes]]):
        self.calls.append(("send", topic, (key or b"").decode(), dict(headers)["ce_id"].decode()))
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if dict(headers)["ce_id"] in self._failing:
            sent.set_exception(RuntimeError("record rejected"))
        else:
            sent.set_result(None)
        return sent

    async def commit_transaction(self) -> None:
        self.calls.append(("commit",))

    async def abort_transaction(self) -> None:
        self.calls.append(("abort",))

    async def stop(self) -> None:
        self.calls.append(("stop",))


def _event(event_id: str, subject: str) -> CloudEvent:
    return CloudEvent({"id": event_id, "source": "/s", "type": "t", "subject": subject}, {"n": 1})


async def _sink(monkeypatch: pytest.MonkeyPatch, producer: _Producer) -> KafkaSink:
    async def start_producer(bootstrap_servers: str, *, client_id: str, transactional: bool):
        assert transactional
        return producer, ProducerMode.TRANSACTIONAL

    monkeypatch.setattr(kafka, "start_producer", start_producer)
    sink = KafkaSink("127.0.0.1:9092", "shop.events", client_id="shop", transactional=True)
    await sink.start()
    return sink


async def test_a_batch_is_sent_in_order_in_one_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    producer = _Producer()
    sink = await _sink(monkeypatch, producer)

    await sink.send([_event("e1", "a"), _event("e2", "b"), _event("e3", "a")])
    await sink.stop()

    assert producer.calls == [
        ("begin",),
        ("send", "shop.events", "a", "e1"),
        ("send", "shop.events", "b", "e2"),
        ("send", "shop.events", "a", "e3"),
        ("commit",),
        ("stop",),
    ]
    assert sink.mode is ProducerMode.TRANSACTIONAL


async def test_a_rejected_record_aborts_the_transaction_and_fails_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    producer = _Producer(failing=frozenset({b"e2"}))
    sink = await _sink(monkeypatch, producer)

    with pytest.raises(RuntimeError, match="record rejected"):
        await sink.send([_event("e1", "a"), _event("e2", "a")])

    assert producer.calls[0] == ("begin",)
    assert producer.calls[-1] == ("abort",)
    assert ("commit",) not in producer.calls


async def test_an_empty_batch_opens_no_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    producer = _Producer()
    sink = await _sink(monkeypatch, producer)

    await sink.send([])

    assert producer.calls == []


async def test_a_sink_not_started_refuses_to_send() -> None:
    sink = KafkaSink("127.0.0.1:9092", "shop.events", client_id="shop", transactional=True)

    with pytest.raises(RuntimeError, match="not started"):
        await sink.send([_event("e1", "a")])
    with pytest.raises(RuntimeError, match="not started"):
        _ = sink.mode
