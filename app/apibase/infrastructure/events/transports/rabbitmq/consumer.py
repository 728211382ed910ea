"""Consuming the service's queue into the dispatcher: one delivery at a time, acknowledged only when handled.

Per delivery, after ``dispatcher.deliver(event)``:

- ``SUCCESS`` → ack;
- ``DROP``, or a message that is no CloudEvent → reject without requeue: the queue dead-letters it to
  ``<queue>.dead-letter`` (with RabbitMQ's ``x-death`` header saying where it came from);
- ``RETRY`` (or the dispatcher itself failing) → a copy goes to the retry queue of the attempt's backoff delay
  (``backoff_base * 2^(attempt-1)``, at most ``backoff_max``), confirmed, then the original is acked; the broker
  returns it to the queue when the delay has passed. The ``x-apibase-attempt`` header counts deliveries; after
  ``max_attempts`` the message is dead-lettered instead. A crash between the confirmed copy and the ack leaves
  both: the inbox absorbs the duplicate.

A queue bound to several topics' exchanges runs, per message, only the subscriptions of the exchange it came
through (``x-apibase-exchange`` keeps it on retried copies). Deliveries are handled one after the other, so a
single consumer keeps the publish order (``prefetch`` only saves round trips); retried events come back later,
behind newer ones. On a robust connection, aio-pika restores the channel, queues and consumer after a reconnect;
deliveries left unacked are redelivered by the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from aiormq.exceptions import AMQPError, ChannelInvalidStateError
from cloudevents.core.base import BaseCloudEvent
from pamqp.commands import Basic

from apibase.application.ports.messaging import EventDispatcher
from apibase.application.subscriptions import Delivery
from apibase.infrastructure.events.transports.rabbitmq.codec import MalformedMessage, from_message
from apibase.infrastructure.events.transports.rabbitmq.topology import (
    Topology,
    declare_consumer_queue,
    declare_retry_queue,
)

__all__ = ["ATTEMPT_HEADER", "ORIGIN_HEADER", "RabbitMQConsumer", "RetryPolicy"]

logger: Final = logging.getLogger(__name__)

#: How many times the message has been delivered to this service's queue (1 when absent).
ATTEMPT_HEADER: Final = "x-apibase-attempt"
#: The exchange the message was first published to, kept on retried copies.
ORIGIN_HEADER: Final = "x-apibase-exchange"
# Headers the broker writes when dead-lettering; a retried copy starts without them.
_BROKER_HEADERS: Final = ("x-death", "x-first-death-", "x-last-death-")


class RetryPolicy:
    """Bounded attempts with exponential backoff, in whole milliseconds (one retry queue per distinct delay)."""

    def __init__(self, *, max_attempts: int, base_seconds: float, max_seconds: float) -> None:
        self.max_attempts = max_attempts
        self._base_ms = base_seconds * 1000
        self._max_ms = max_seconds * 1000

    def delay_ms(self, attempt: int) -> int:
        """The wait after the ``attempt``-th delivery asked to retry."""
        return max(1, round(min(self._base_ms * 2.0 ** min(attempt - 1, 62), self._max_ms)))


def origin_of(message: AbstractIncomingMessage) -> str:
    """The exchange the message was published to; a retried copy carries it (it comes back by the default one)."""
    value: object = (message.headers or {}).get(ORIGIN_HEADER)
    return _text(value) if value else (message.exchange or "")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def attempt_of(message: AbstractIncomingMessage) -> int:
    value: object = (message.headers or {}).get(ATTEMPT_HEADER)
    return value if isinstance(value, int) and value >= 1 else 1


class RabbitMQConsumer:
    """Feeds the service's queue (bound to the dispatcher's subscriptions) into ``dispatcher.deliver``."""

    def __init__(
        self,
        connection: Callable[[], AbstractRobustConnection],
        topology: Topology,
        dispatcher: EventDispatcher,
        retry: RetryPolicy,
        *,
        prefetch: int = 32,
        publish_timeout: float = 30.0,
    ) -> None:
        self._connection = connection
        self._topology = topology
        self._dispatcher = dispatcher
        self._retry = retry
        self._prefetch = prefetch
        self._publish_timeout = publish_timeout
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._retry_queues: dict[int, str] = {}

    async def declare(self) -> None:
        """Declare the queue and its bindings (before the relay publishes, so no event of ours is missed)."""
        subscriptions = list(self._dispatcher.subscriptions())
        if not subscriptions or self._queue is not None:
            return
        channel = await self._connection().channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await declare_consumer_queue(channel, self._topology, subscriptions)
        self._channel = channel

    async def run(self) -> None:
        """Consume until cancelled; returns at once when the service subscribes to nothing."""
        await self.declare()
        if self._queue is None:
            logger.info("no subscriptions: nothing to consume from RabbitMQ")
            return
        async with self._queue.iterator() as deliveries:
            async for message in deliveries:
                try:
                    await self.handle(message)
                except (AMQPError, ChannelInvalidStateError):  # the channel went away: what was not acked comes again
                    logger.warning("lost the channel while settling message %s", message.message_id, exc_info=True)

    async def close(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._channel = self._queue = None
        self._retry_queues.clear()

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            event = from_message(message)
        except MalformedMessage:
            logger.warning("dead-lettering malformed message %s", message.message_id, exc_info=True)
            await message.reject(requeue=False)
            return
        try:
            outcome = await self._dispatch(event, origin_of(message))
        except Exception:
            logger.exception("dispatching event %s failed; retrying it", event.get_id())
            outcome = Delivery.RETRY
        match outcome:
            case Delivery.SUCCESS:
                await message.ack()
            case Delivery.DROP:
                logger.warning("event %s (%s) dropped: dead-lettered", event.get_id(), event.get_type())
                await message.reject(requeue=False)
            case Delivery.RETRY:
                await self._retry_later(message)

    async def _dispatch(self, event: BaseCloudEvent, origin: str) -> Delivery:
        """Run the subscriptions fed by the exchange the event came through (all of its type when they all are)."""
        matching = [s for s in self._dispatcher.subscriptions() if s.event_type == event.get_type()]
        fed = [s.name for s in matching if self._topology.exchange_of(s) == origin]
        if not origin or len(fed) == len(matching):
            return await self._dispatcher.deliver(event)
        outcomes = {await self._dispatcher.deliver(event, subscription=name) for name in fed}
        # As the dispatcher combines several subscriptions: retry if any asked to (the done ones are deduplicated).
        return next((o for o in (Delivery.RETRY, Delivery.DROP) if o in outcomes), Delivery.SUCCESS)

    async def _retry_later(self, message: AbstractIncomingMessage) -> None:
        attempt = attempt_of(message)
        if attempt >= self._retry.max_attempts:
            logger.warning("message %s failed %d times: dead-lettered", message.message_id, attempt)
            await message.reject(requeue=False)
        elif await self._park(message, attempt):
            await message.ack()
        else:
            await message.nack(requeue=True)

    async def _park(self, message: AbstractIncomingMessage, attempt: int) -> bool:
        """Put a copy in the retry queue of ``attempt``'s delay; ``True`` once the broker confirmed it."""
        assert self._channel is not None  # noqa: S101 - declared before consuming
        delay_ms = self._retry.delay_ms(attempt)
        try:
            queue = await self._retry_queue(delay_ms)
            confirmation = await self._channel.default_exchange.publish(
                _copy(message, attempt + 1), routing_key=queue, timeout=self._publish_timeout
            )
        except Exception:
            logger.exception("could not park message %s for a retry; requeueing it", message.message_id)
            confirmation = None
        if isinstance(confirmation, Basic.Ack):
            return True
        self._retry_queues.pop(delay_ms, None)  # declared again next time, in case it was deleted
        logger.error("no retry queue took message %s (%r); requeueing it", message.message_id, confirmation)
        return False

    async def _retry_queue(self, delay_ms: int) -> str:
        if (name := self._retry_queues.get(delay_ms)) is None:
            assert self._channel is not None  # noqa: S101 - declared before consuming
            name = self._retry_queues[delay_ms] = await declare_retry_queue(self._channel, self._topology, delay_ms)
        return name


def _copy(message: AbstractIncomingMessage, attempt: int) -> Message:
    headers = {name: value for name, value in (message.headers or {}).items() if not name.startswith(_BROKER_HEADERS)}
    headers[ATTEMPT_HEADER] = attempt
    headers[ORIGIN_HEADER] = origin_of(message)
    return Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        type=message.type,
        correlation_id=message.correlation_id,
        timestamp=message.timestamp,
    )
