"""Losing the connection: aio-pika reconnects, the consumer resumes, and an unacked delivery comes again.

The transport talks to RabbitMQ through a TCP relay of the test's own, which can cut every open connection
(as a broker restart or a network blip would) and keeps accepting new ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aio_pika.abc import AbstractChannel
from cloudevents.core.base import BaseCloudEvent
from pydantic import SecretStr

from apibase.application.subscriptions import Delivery
from apibase.core.settings import Settings
from apibase.infrastructure.events.transports.rabbitmq.codec import to_message
from apibase.infrastructure.events.transports.rabbitmq.topology import Topology

from .conftest import PLACED, ScriptedDispatcher, event, running, subscription

pytestmark = pytest.mark.integration


class Relay:
    """Forwards 127.0.0.1:<port> to RabbitMQ; ``cut()`` closes every connection made so far."""

    def __init__(self) -> None:
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", 5672)
        self._open |= {writer, upstream_writer}
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    def cut(self) -> None:
        for writer in self._open:
            writer.transport.abort()
        self._open.clear()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.transport.abort()


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    relay = Relay()
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


class CutWhileHandling(ScriptedDispatcher):
    """Cuts the connection while the first delivery of ``victim`` is being handled, before its ack."""

    def __init__(self, relay: Relay, victim: str) -> None:
        super().__init__([subscription(PLACED)])
        self._relay, self._victim = relay, victim

    async def deliver(self, event: BaseCloudEvent, *, subscription: str | None = None) -> Delivery:
        if event.get_id() == self._victim and not self.calls[self._victim]:
            self._relay.cut()
        return await super().deliver(event, subscription=subscription)


async def test_a_delivery_whose_ack_was_lost_comes_again_and_the_transport_works_after_reconnecting(
    settings: Settings, admin: AbstractChannel, relay: Relay
) -> None:
    through_relay = f"amqp://guest:guest@127.0.0.1:{relay.port}/?reconnect_interval=0.05"
    settings = settings.model_copy(
        update={"events": settings.events.model_copy(update={"rabbitmq_url": SecretStr(through_relay)})}
    )
    victim = event(PLACED)
    dispatcher = CutWhileHandling(relay, victim.get_id())
    async with running(settings, dispatcher) as transport:
        # Published beside the relay: the cut may come before a confirm, which would (rightly) fail a send.
        exchange = await admin.get_exchange(Topology.of(settings).exchange)
        await exchange.publish(to_message(victim), routing_key=PLACED)
        first, second = await dispatcher.next(), await dispatcher.next()
        assert first[0].get_id() == second[0].get_id() == victim.get_id(), "redelivered after the lost ack"
        after = event(PLACED)
        await transport.sink.send([after])  # published once the connection is back
        assert (await dispatcher.next())[0].get_id() == after.get_id()
        assert transport.check is not None
        await transport.check()
    assert dispatcher.calls[victim.get_id()] == 2
