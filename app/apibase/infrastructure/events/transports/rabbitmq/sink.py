"""Publishing a relay batch to RabbitMQ with publisher confirms: ``send`` returns once the broker has them all.

Every message of the batch is published at once, in order, on one confirming channel (the channel's publish lock
writes them in the order they were started, so the broker and every queue see the outbox order), then the
confirms are awaited together: one round trip for the batch, not one per event. A nack, a return (with
``mandatory``) or no confirm within ``timeout`` raises ``PublishFailed`` naming the first failed event; the relay
then retries the batch (duplicates of the confirmed ones are absorbed by the subscribers' inbox). While aio-pika
reconnects, ``send`` first waits for the channel to be restored, within the same ``timeout``.

``mandatory`` is off by default: on a topic exchange an event type that no queue is bound to yet is not an
error (pubsub: no subscriber, nobody to tell), and the relay would otherwise dead-letter every such event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from aio_pika.abc import AbstractExchange
from cloudevents.core.base import BaseCloudEvent
from pamqp.commands import Basic

from apibase.infrastructure.events.transports.rabbitmq.codec import to_message

__all__ = ["PublishFailed", "RabbitMQSink"]


class PublishFailed(RuntimeError):  # noqa: N818 - reads as the event it reports
    """The broker did not accept an event (nack, returned as unroutable, or no confirm in time)."""


class RabbitMQSink:
    """The ``MessageSink`` of the RabbitMQ transport: the events topic exchange, routing key = event type."""

    def __init__(
        self,
        exchange: Callable[[], Awaitable[AbstractExchange]],
        *,
        timeout: float = 30.0,
        mandatory: bool = False,
    ) -> None:
        self._exchange = exchange
        self._timeout = timeout
        self._mandatory = mandatory

    async def send(self, messages: Sequence[BaseCloudEvent]) -> None:
        if not messages:
            return
        async with asyncio.timeout(self._timeout):  # while reconnecting, wait for the channel (within bounds)
            exchange = await self._exchange()
        # Tasks start in creation order and take the channel's lock first come, first served: frames go out in order.
        publishing = [asyncio.ensure_future(self._publish(exchange, event)) for event in messages]
        outcomes = await asyncio.gather(*publishing, return_exceptions=True)
        for event, outcome in zip(messages, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                raise PublishFailed(
                    f"event {event.get_id()} ({event.get_type()}) not accepted: {outcome!r}"
                ) from outcome

    async def _publish(self, exchange: AbstractExchange, event: BaseCloudEvent) -> None:
        confirmation = await exchange.publish(
            to_message(event), routing_key=event.get_type(), mandatory=self._mandatory, timeout=self._timeout
        )
        if not isinstance(confirmation, Basic.Ack):  # a returned message comes back instead of the ack
            raise PublishFailed(f"returned by the broker: {confirmation!r}")
