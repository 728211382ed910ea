"""Publishing with confirms to the real RabbitMQ: what ``send`` returns is on the broker, in order, by type."""

from __future__ import annotations

import json

import pytest
from aio_pika import DeliveryMode
from aio_pika.abc import AbstractChannel, AbstractExchange

from apibase.core.settings import Settings
from apibase.infrastructure.events.transports.rabbitmq.sink import PublishFailed, RabbitMQSink
from apibase.infrastructure.events.transports.rabbitmq.topology import Topology

from .conftest import CANCELLED, PLACED, ScriptedDispatcher, event, message_count, running, take

pytestmark = pytest.mark.integration


async def _probe(admin: AbstractChannel, settings: Settings, binding: str = "#", **arguments: object) -> str:
    """A queue of the test bound to the service's exchange."""
    topology = Topology.of(settings)
    name = f"{topology.queue}.probe"
    queue = await admin.declare_queue(name, arguments=arguments or None)
    await queue.bind(topology.exchange, routing_key=binding)
    return name


async def test_send_returns_once_every_event_is_on_the_broker_in_order_as_structured_cloud_events(
    settings: Settings, admin: AbstractChannel
) -> None:
    async with running(settings, ScriptedDispatcher([])) as transport:
        probe = await _probe(admin, settings)
        events = [event(number=n, traceparent=f"00-{n:032x}-{n + 1:016x}-01") for n in range(1, 301)]
        events[0] = event(number=0, correlationid="flow-1", tenantid="acme")
        await transport.sink.send(events)
        assert await message_count(admin, probe) == 300, "confirmed means enqueued, before send returned"
        received = await take(admin, probe, 300)

    assert [message.message_id for message in received] == [e.get_id() for e in events]
    first = received[0]
    assert first.content_type == "application/cloudevents+json"
    assert first.delivery_mode == DeliveryMode.PERSISTENT
    assert (first.type, first.correlation_id, first.routing_key) == (PLACED, "flow-1", PLACED)
    body = json.loads(first.body)
    assert body["id"] == events[0].get_id()
    assert (body["type"], body["correlationid"], body["tenantid"], body["data"]) == (
        PLACED,
        "flow-1",
        "acme",
        {"number": 0},
    )
    assert json.loads(received[7].body)["traceparent"] == events[7].get_extension("traceparent")


async def test_the_routing_key_is_the_event_type(settings: Settings, admin: AbstractChannel) -> None:
    async with running(settings, ScriptedDispatcher([])) as transport:
        placed_only = await _probe(admin, settings, binding=PLACED)
        batch = [event(PLACED), event(CANCELLED), event(PLACED)]
        await transport.sink.send(batch)
        assert await message_count(admin, placed_only) == 2
        received = await take(admin, placed_only, 2)
    assert [m.message_id for m in received] == [batch[0].get_id(), batch[2].get_id()]


async def test_a_nacked_event_fails_the_send_naming_it(settings: Settings, admin: AbstractChannel) -> None:
    """A full queue that rejects publishes makes the broker nack: the batch is not reported sent."""
    async with running(settings, ScriptedDispatcher([])) as transport:
        await _probe(admin, settings, **{"x-max-length": 1, "x-overflow": "reject-publish"})
        accepted, refused = event(number=1), event(number=2)
        with pytest.raises(PublishFailed, match=refused.get_id()):
            await transport.sink.send([accepted, refused])


async def test_a_mandatory_sink_fails_on_an_event_no_queue_is_bound_to(
    settings: Settings, admin: AbstractChannel
) -> None:
    topology = Topology.of(settings)
    async with running(settings, ScriptedDispatcher([])) as transport:
        await _probe(admin, settings, binding=PLACED)
        exchange = await admin.get_exchange(topology.exchange)

        async def the_exchange() -> AbstractExchange:
            return exchange

        sink = RabbitMQSink(the_exchange, mandatory=True)
        await sink.send([event(PLACED)])
        with pytest.raises(PublishFailed, match="returned"):
            await sink.send([event(CANCELLED)])
        await transport.sink.send([event(CANCELLED)])  # the service's sink: no subscriber is no error


async def test_an_empty_batch_is_sent_without_a_broker() -> None:
    async def no_exchange() -> AbstractExchange:
        pytest.fail("no exchange needed")

    sink = RabbitMQSink(no_exchange)
    await sink.send([])
