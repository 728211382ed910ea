"""The consumer against the real RabbitMQ: acked on SUCCESS, retried after a delay, dead-lettered on DROP."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aio_pika import Message
from aio_pika.abc import AbstractChannel

from apibase.application.subscriptions import Delivery
from apibase.core.settings import Settings
from apibase.infrastructure.events.transports import build_transport
from apibase.infrastructure.events.transports.rabbitmq.codec import to_message
from apibase.infrastructure.events.transports.rabbitmq.consumer import ATTEMPT_HEADER
from apibase.infrastructure.events.transports.rabbitmq.topology import Topology
from apibase.infrastructure.pools import PoolStatus

from .conftest import CANCELLED, PLACED, ScriptedDispatcher, event, message_count, running, subscription, take

pytestmark = pytest.mark.integration


async def test_subscribed_events_are_handled_in_publish_order_and_acked(
    settings: Settings, admin: AbstractChannel
) -> None:
    dispatcher = ScriptedDispatcher([subscription(PLACED)])
    async with running(settings, dispatcher) as transport:
        events = [event(PLACED, number=n) for n in range(100)]
        await transport.sink.send([*events[:50], event(CANCELLED), *events[50:]])
        handled = [(await dispatcher.next())[0] for _ in events]
        assert [e.get_id() for e in handled] == [e.get_id() for e in events], "unsubscribed types never arrive"
        assert handled[3].get_data() == {"number": 3}
    assert await message_count(admin, Topology.of(settings).queue) == 0, "every delivery was acked"
    assert dispatcher.delivered.empty()


async def test_a_retried_event_comes_back_after_the_backoff_and_is_acked_when_it_succeeds(
    settings: Settings, admin: AbstractChannel
) -> None:
    def fail_once(_: object, nth: int) -> Delivery:
        return Delivery.RETRY if nth == 1 else Delivery.SUCCESS

    dispatcher = ScriptedDispatcher([subscription(PLACED)], fail_once)
    async with running(settings, dispatcher) as transport:
        retried = event(PLACED)
        await transport.sink.send([retried])
        assert (await dispatcher.next())[1] is Delivery.RETRY
        asked = time.monotonic()
        again, outcome = await dispatcher.next()
        waited = time.monotonic() - asked
    assert (again.get_id(), outcome) == (retried.get_id(), Delivery.SUCCESS)
    assert again.get_attributes() == retried.get_attributes()
    assert waited >= settings.events.backoff_base_seconds * 0.9, "not before the retry queue's delay"
    topology = Topology.of(settings)
    assert await message_count(admin, topology.queue) == 0
    assert await message_count(admin, topology.dead_letter_queue) == 0


async def test_an_event_that_keeps_asking_to_retry_is_dead_lettered_after_max_attempts(
    settings: Settings, admin: AbstractChannel
) -> None:
    dispatcher = ScriptedDispatcher([subscription(PLACED)], lambda _, __: Delivery.RETRY)
    async with running(settings, dispatcher) as transport:
        stuck = event(PLACED)
        await transport.sink.send([stuck])
        (dead,) = await take(admin, Topology.of(settings).dead_letter_queue, 1)
    assert dispatcher.calls[stuck.get_id()] == settings.events.max_attempts == 3
    assert dead.message_id == stuck.get_id()
    assert dead.headers[ATTEMPT_HEADER] == 3
    assert json.loads(dead.body)["id"] == stuck.get_id()


async def test_a_deleted_retry_queue_is_declared_again(settings: Settings, admin: AbstractChannel) -> None:
    def fail_once(_: object, nth: int) -> Delivery:
        return Delivery.RETRY if nth == 1 else Delivery.SUCCESS

    dispatcher = ScriptedDispatcher([subscription(PLACED)], fail_once)
    retry_queue = Topology.of(settings).retry_queue(50)
    async with running(settings, dispatcher) as transport:
        for _ in range(2):
            await transport.sink.send([retried := event(PLACED)])
            assert [(await dispatcher.next())[1] for _ in range(2)] == [Delivery.RETRY, Delivery.SUCCESS]
            assert dispatcher.calls[retried.get_id()] == 2
            await admin.queue_delete(retry_queue)  # the second time round, the parked copy is returned: requeued
        await transport.sink.send([event(PLACED)])
        assert [(await dispatcher.next())[1] for _ in range(2)] == [Delivery.RETRY, Delivery.SUCCESS]
    assert await message_count(admin, retry_queue) == 0, "declared again"


async def test_a_dropped_event_is_dead_lettered_at_once(settings: Settings, admin: AbstractChannel) -> None:
    dispatcher = ScriptedDispatcher([subscription(PLACED)], lambda _, __: Delivery.DROP)
    topology = Topology.of(settings)
    async with running(settings, dispatcher) as transport:
        poison = event(PLACED, tenantid="acme")
        await transport.sink.send([poison])
        (dead,) = await take(admin, topology.dead_letter_queue, 1)
    assert dispatcher.calls[poison.get_id()] == 1
    assert dead.message_id == poison.get_id()
    assert dead.content_type == "application/cloudevents+json"
    assert json.loads(dead.body)["tenantid"] == "acme"
    (death,) = dead.headers["x-death"]  # type: ignore[misc]
    assert (death["reason"], death["queue"]) == ("rejected", topology.queue)  # type: ignore[index]


async def test_a_message_that_is_no_cloud_event_is_dead_lettered_without_reaching_the_dispatcher(
    settings: Settings, admin: AbstractChannel
) -> None:
    dispatcher = ScriptedDispatcher([subscription(PLACED)])
    topology = Topology.of(settings)
    async with running(settings, dispatcher) as transport:
        exchange = await admin.get_exchange(topology.exchange)
        await exchange.publish(Message(b"{not json", message_id="garbage"), routing_key=PLACED)
        await exchange.publish(Message(b"{}", content_type="application/cloudevents+json"), routing_key=PLACED)
        await transport.sink.send([fine := event(PLACED)])
        (handled, _) = await dispatcher.next()
        dead = await take(admin, topology.dead_letter_queue, 2)
    assert handled.get_id() == fine.get_id()
    assert [m.body for m in dead] == [b"{not json", b"{}"]
    assert sum(dispatcher.calls.values()) == 1


async def test_binary_content_mode_messages_are_read_too(settings: Settings, admin: AbstractChannel) -> None:
    dispatcher = ScriptedDispatcher([subscription(PLACED)])
    async with running(settings, dispatcher):
        exchange = await admin.get_exchange(Topology.of(settings).exchange)
        headers = {
            "ce-id": "b-1",
            "ce-source": "/other",
            "ce-type": PLACED,
            "ce-specversion": "1.0",
            "ce-tenantid": "acme",
        }
        await exchange.publish(
            Message(b'{"number": 7}', content_type="application/json", headers=headers), routing_key=PLACED
        )
        (handled, _) = await dispatcher.next()
    assert (handled.get_id(), handled.get_extension("tenantid"), handled.get_data()) == ("b-1", "acme", {"number": 7})


async def test_a_dispatcher_that_raises_is_a_retry(settings: Settings, admin: AbstractChannel) -> None:
    def explode_once(_: object, nth: int) -> Delivery:
        if nth == 1:
            raise RuntimeError("database down")
        return Delivery.SUCCESS

    dispatcher = ScriptedDispatcher([subscription(PLACED)], explode_once)
    async with running(settings, dispatcher) as transport:
        await transport.sink.send([flaky := event(PLACED)])
        handled, outcome = await dispatcher.next()
    assert (handled.get_id(), outcome, dispatcher.calls[flaky.get_id()]) == (flaky.get_id(), Delivery.SUCCESS, 2)


async def test_a_subscription_to_another_topic_binds_to_that_topics_exchange(
    settings: Settings, admin: AbstractChannel
) -> None:
    foreign = f"{Topology.of(settings).exchange}.foreign"
    dispatcher = ScriptedDispatcher([subscription(PLACED, topic=foreign), subscription(CANCELLED)])
    async with running(settings, dispatcher) as transport:
        exchange = await admin.get_exchange(foreign)
        await exchange.publish(Message(b"{}"), routing_key="ignored.type")
        theirs = event(PLACED)
        await exchange.publish(to_message(theirs), routing_key=PLACED)
        await transport.sink.send([ours := event(CANCELLED), event(PLACED)])  # our PLACED: not subscribed
        got = {(await dispatcher.next())[0].get_id() for _ in range(2)}
    assert got == {theirs.get_id(), ours.get_id()}
    assert dispatcher.delivered.empty()


async def test_an_event_runs_only_the_subscriptions_of_the_exchange_it_came_through_also_when_retried(
    settings: Settings, admin: AbstractChannel
) -> None:
    foreign = f"{Topology.of(settings).exchange}.foreign"
    theirs = subscription(PLACED, topic=foreign, name="test.their-placed")
    dispatcher = ScriptedDispatcher(
        [theirs, subscription(PLACED, name="test.our-placed")],
        lambda _, nth: Delivery.RETRY if nth == 1 else Delivery.SUCCESS,
    )
    async with running(settings, dispatcher) as transport:
        exchange = await admin.get_exchange(foreign)
        await exchange.publish(to_message(from_them := event(PLACED)), routing_key=PLACED)
        await transport.sink.send([from_us := event(PLACED)])
        for _ in range(4):
            await dispatcher.next()
    assert sorted(dispatcher.asked) == sorted(
        [(from_them.get_id(), theirs.name)] * 2 + [(from_us.get_id(), "test.our-placed")] * 2
    )


async def test_readiness_follows_the_connection_and_nothing_is_consumed_without_subscriptions(
    settings: Settings,
    admin: AbstractChannel,
) -> None:
    transport = build_transport(settings, ScriptedDispatcher([]))
    assert transport.check is not None
    assert transport.start is not None
    assert transport.stop is not None
    assert transport.pool is not None
    with pytest.raises(ConnectionError):
        await transport.check()
    with pytest.raises(ConnectionError):
        await transport.sink.send([event()])
    assert transport.pool() == PoolStatus(limit=1, open=0, in_use=0, idle=0)
    await transport.start()
    try:
        await transport.check()
        assert transport.pool() == PoolStatus(limit=1, open=1, in_use=1, idle=0), "one connection for everything"
        assert transport.consume is not None
        await asyncio.wait_for(transport.consume(), 5)  # returns: no subscription, no queue to consume
    finally:
        await transport.stop()
    with pytest.raises(ConnectionError):
        await transport.check()
    assert transport.pool() == PoolStatus(limit=1, open=0, in_use=0, idle=0)
