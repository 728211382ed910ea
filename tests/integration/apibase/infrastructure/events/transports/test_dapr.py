"""The Dapr publisher through the SDK and the stand-in sidecar: what lands on the topic is our CloudEvent."""

from datetime import UTC, datetime

import pytest
from cloudevents.core.v1.event import CloudEvent
from pydantic import SecretStr
from redis.asyncio import Redis

from apibase.core.settings import EventsSettings, Settings
from apibase.infrastructure.dapr.client import DaprSidecar
from apibase.infrastructure.events.transports import build_transport
from apibase.infrastructure.events.transports.dapr import DaprMessageSink
from apibase.testing.dapr_sidecar import DaprStandIn

pytestmark = pytest.mark.integration

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def order_placed(number: int) -> CloudEvent:
    return CloudEvent(
        {
            "id": f"event-{number}",
            "source": "shop",
            "type": "apibase.OrderPlaced",
            "subject": f"order-{number}",
            "time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "datacontenttype": "application/json",
            "traceparent": TRACEPARENT,
            "tracestate": "vendor=1",
            "correlationid": "corr-1",
            "tenantid": "acme",
        },
        {"order_id": number, "total": "12.50"},
    )


class Dispatcher:
    """No subscriptions: the Dapr transport never consumes (daprd pushes to the app's routes)."""

    async def deliver(self, event: object, *, subscription: str | None = None) -> object:
        raise AssertionError("not called")

    def subscriptions(self) -> list[object]:
        return []


async def test_every_event_keeps_its_id_type_and_extensions_on_the_topic(
    sidecar: DaprSidecar, stand_in: DaprStandIn
) -> None:
    sink = DaprMessageSink(sidecar, pubsub="pubsub", topic="shop.events")
    await sink.send([order_placed(1), order_placed(2)])
    delivered = await stand_in.topics.events("pubsub", "shop.events")
    assert [event["id"] for event in delivered] == ["event-1", "event-2"]
    first = delivered[0]
    assert first["type"] == "apibase.OrderPlaced"
    assert first["source"] == "shop"
    assert first["subject"] == "order-1"
    assert (first["correlationid"], first["tenantid"], first["tracestate"]) == ("corr-1", "acme", "vendor=1")
    # daprd puts a span of its own on the envelope, in the trace the publish call carried: the event's.
    _, trace_id, span_id, flags = str(first["traceparent"]).split("-")
    assert (trace_id, flags) == (TRACEPARENT.split("-")[1], "01")
    assert span_id != TRACEPARENT.split("-")[2]
    assert first["data"] == {"order_id": 1, "total": "12.50"}
    assert (first["topic"], first["pubsubname"]) == ("shop.events", "pubsub")


async def test_a_refused_publish_raises_so_the_relay_retries(sidecar: DaprSidecar) -> None:
    sink = DaprMessageSink(sidecar, pubsub="no-such-pubsub", topic="shop.events")
    with pytest.raises(Exception, match="pubsub no-such-pubsub is not found"):
        await sink.send([order_placed(1)])


async def test_build_transport_chooses_dapr_with_a_readiness_check(redis: Redis) -> None:
    async with DaprStandIn(redis, api_token="sidecar-token") as stand_in:
        settings = Settings(service_name="shop", events=EventsSettings(publisher="dapr"), dapr=stand_in.settings)
        transport = build_transport(settings, Dispatcher())  # type: ignore[arg-type]
        assert isinstance(transport.sink, DaprMessageSink)
        assert transport.consume is None
        assert transport.check is not None
        assert transport.stop is not None
        try:
            await transport.check()
            await transport.sink.send([order_placed(7)])
        finally:
            await transport.stop()
        assert [event["id"] for event in await stand_in.topics.events("pubsub", "shop.events")] == ["event-7"]


async def test_a_wrong_api_token_is_refused(redis: Redis) -> None:
    async with DaprStandIn(redis, api_token="sidecar-token") as stand_in:
        wrong = DaprSidecar(stand_in.settings.model_copy(update={"api_token": SecretStr("wrong")}))
        try:
            with pytest.raises(Exception, match="api token mismatch"):
                await DaprMessageSink(wrong, pubsub="pubsub", topic="t").send([order_placed(1)])
        finally:
            await wrong.close()
