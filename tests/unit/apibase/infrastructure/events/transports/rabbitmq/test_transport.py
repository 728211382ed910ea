"""``APIBASE_EVENTS__PUBLISHER=rabbitmq`` builds the RabbitMQ transport, connecting only when started."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from cloudevents.core.base import BaseCloudEvent

from apibase.application.subscriptions import Delivery, Subscription
from apibase.core.settings import EventsSettings, Settings
from apibase.infrastructure.events.transports import build_transport
from apibase.infrastructure.events.transports.rabbitmq.sink import RabbitMQSink

pytestmark = pytest.mark.unit


class _NoSubscriptions:
    async def deliver(self, event: BaseCloudEvent, *, subscription: str | None = None) -> Delivery:
        raise AssertionError("nothing is delivered")

    def subscriptions(self) -> Sequence[Subscription]:
        return ()


async def test_the_rabbitmq_case_builds_a_transport_with_a_consumer_and_a_lifecycle() -> None:
    settings = Settings(service_name="shop", events=EventsSettings(publisher="rabbitmq"))
    transport = build_transport(settings, _NoSubscriptions())
    assert isinstance(transport.sink, RabbitMQSink)
    assert None not in (transport.consume, transport.start, transport.stop, transport.check)
    assert transport.check is not None
    with pytest.raises(ConnectionError, match="not connected"):
        await transport.check()
