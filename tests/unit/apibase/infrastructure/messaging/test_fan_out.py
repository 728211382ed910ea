"""FanOutPublisher: every destination gets every batch, even after another one failed; failures still surface."""

import asyncio
from collections.abc import Sequence

import pytest

from apibase.application.in_memory.events import InMemoryEventPublisher
from apibase.domain.events import DomainEvent
from apibase.infrastructure.messaging.fan_out import FanOutPublisher

pytestmark = pytest.mark.unit


class InvoiceSent(DomainEvent):
    pass


class Failing:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        raise self.error


def sent() -> list[DomainEvent]:
    return [InvoiceSent(aggregate_id="invoice-1"), InvoiceSent(aggregate_id="invoice-2")]


async def test_every_publisher_gets_the_batch() -> None:
    kept, also = InMemoryEventPublisher(), InMemoryEventPublisher()
    events = sent()
    await FanOutPublisher(kept, also).publish(events)
    assert kept.published == events
    assert also.published == events


async def test_one_failure_does_not_starve_the_others_and_is_raised_unchanged() -> None:
    before, after = InMemoryEventPublisher(), InMemoryEventPublisher()
    error = ConnectionError("broker down")
    events = sent()
    with pytest.raises(ConnectionError) as raised:
        await FanOutPublisher(before, Failing(error), after).publish(events)
    assert raised.value is error
    assert before.published == events
    assert after.published == events


async def test_several_failures_are_raised_together() -> None:
    kept = InMemoryEventPublisher()
    first, second = ConnectionError("broker down"), TimeoutError("outbox slow")
    with pytest.raises(ExceptionGroup) as raised:
        await FanOutPublisher(Failing(first), kept, Failing(second)).publish(sent())
    assert raised.value.exceptions == (first, second)
    assert len(kept.published) == 2


async def test_cancellation_stops_the_fan_out_at_once() -> None:
    after = InMemoryEventPublisher()
    with pytest.raises(asyncio.CancelledError):
        await FanOutPublisher(Failing(asyncio.CancelledError()), after).publish(sent())
    assert after.published == []
