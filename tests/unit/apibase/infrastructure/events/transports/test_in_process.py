"""The in-process transport: the relay's batches reach this service's own subscriptions, no broker involved."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from cloudevents.core.base import BaseCloudEvent

from apibase.application.subscriptions import Delivery, Subscription
from apibase.core.settings import Settings
from apibase.infrastructure.events.dispatcher import SubscriptionDispatcher
from apibase.infrastructure.events.transports import build_transport
from apibase.infrastructure.events.transports.in_process import DeliveryRetry, InProcessSink
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.testing.subscriptions import DispatcherHarness, Recorder, create_dispatcher_tables, make_event

pytestmark = pytest.mark.unit


class Scripted:
    """An ``EventDispatcher`` answering each event id as told, recording what it was handed."""

    def __init__(self, answers: dict[str, Delivery]) -> None:
        self.answers = answers
        self.delivered: list[str] = []

    async def deliver(self, event: BaseCloudEvent, *, subscription: str | None = None) -> Delivery:
        self.delivered.append(event.get_id())
        return self.answers.get(event.get_id(), Delivery.SUCCESS)

    def subscriptions(self) -> Sequence[Subscription]:
        return ()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[DispatcherHarness]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"))
    async with engine.begin() as connection:
        await create_dispatcher_tables(connection)
    yield DispatcherHarness(create_session_factory(engine))
    await engine.dispose()


async def test_the_default_publisher_delivers_to_the_services_own_subscriptions(harness: DispatcherHarness) -> None:
    recorder = Recorder("catalog.on-ping")
    dispatcher = SubscriptionDispatcher(harness.unit_of_work)
    dispatcher.subscribe([recorder.subscription()])
    transport = build_transport(Settings(), dispatcher)
    assert isinstance(transport.sink, InProcessSink)
    assert transport.consume is None  # nothing to consume: send() is the delivery
    events = [make_event(), make_event()]

    await transport.sink.send(events)
    await transport.sink.send(events)  # the relay resending after a crash: the inbox absorbs it

    assert recorder.runs == 2
    assert sorted(row.event_id for row in await harness.received()) == sorted(event.get_id() for event in events)


async def test_retry_fails_the_send_at_that_event_so_the_relay_backs_off() -> None:
    first, second, third = make_event(event_id="1"), make_event(event_id="2"), make_event(event_id="3")
    dispatcher = Scripted({"2": Delivery.RETRY})

    with pytest.raises(DeliveryRetry, match="2"):
        await InProcessSink(dispatcher).send([first, second, third])

    assert dispatcher.delivered == ["1", "2"]  # nothing after it: order per aggregate is kept


async def test_a_dropped_event_is_logged_and_counted_and_the_batch_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = Scripted({"2": Delivery.DROP})
    sink = InProcessSink(dispatcher)

    with caplog.at_level(logging.ERROR, logger="apibase.infrastructure.events.transports.in_process"):
        await sink.send([make_event(event_id="1"), make_event(event_id="2"), make_event(event_id="3")])

    assert dispatcher.delivered == ["1", "2", "3"]
    assert sink.dropped == 1
    assert [record.event_id for record in caplog.records] == ["2"]
