"""The stand-in's delivery loop against a tiny app that speaks Dapr's documented subscriber contract.

The app announces on ``GET /dapr/subscribe`` (v2 routing rules by type, a default route, a dead-letter topic
and a subscription to that topic) and answers each POST with the status a test scripts for the event's id.
Events are published through the SDK and the kernel's Dapr sink, so the whole path is the real one: SDK →
gRPC → Redis stream → delivery → HTTP.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from cloudevents.core.v1.event import CloudEvent
from fastapi import FastAPI, Request, Response
from redis.asyncio import Redis

from apibase.infrastructure.dapr.client import DaprSidecar
from apibase.infrastructure.events.transports.dapr import DaprMessageSink
from apibase.testing.dapr_sidecar import DaprStandIn, DeliveryRecord

pytestmark = pytest.mark.integration

PLACED = "apibase.OrderPlaced"
APP_TOKEN = "app-token-1"


class SubscriberApp:
    """Answers from ``script`` (event id → statuses in order; then SUCCESS); records what it received."""

    def __init__(self) -> None:
        self.script: dict[str, list[int | str]] = {}
        self.received: list[tuple[str, str, dict[str, object], str | None]] = []
        self.api = FastAPI()
        self.api.get("/dapr/subscribe", response_model=None)(self.subscribe)
        self.api.post("/events/dapr/{route}")(self.receive)

    async def subscribe(self, request: Request) -> object:
        if request.headers.get("dapr-api-token") != APP_TOKEN:  # daprd sends the app token here too
            return Response(status_code=401)
        return [
            {
                "pubsubname": "pubsub",
                "topic": "orders",
                "routes": {
                    "rules": [{"match": f'event.type == "{PLACED}"', "path": "/events/dapr/placed"}],
                    "default": "/events/dapr/other",
                },
                "deadLetterTopic": "orders.dead-letter",
            },
            {"pubsubname": "pubsub", "topic": "orders.dead-letter", "route": "/events/dapr/dead"},
            {"pubsubname": "other-pubsub", "topic": "ignored", "route": "/events/dapr/never"},
        ]

    async def receive(self, route: str, request: Request) -> Response:
        event = json.loads(await request.body())
        self.received.append((route, request.headers["content-type"], event, request.headers.get("dapr-api-token")))
        answers = self.script.get(event["id"], [])
        answer = answers.pop(0) if answers else "SUCCESS"
        if isinstance(answer, int):
            return Response(status_code=answer)
        return Response(json.dumps({"status": answer}), media_type="application/json")


@pytest.fixture
def app() -> SubscriberApp:
    return SubscriberApp()


@pytest.fixture
async def stand_in(redis: Redis, app: SubscriberApp) -> AsyncIterator[DaprStandIn]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.api), base_url="http://app")
    async with http, DaprStandIn(redis, app=http, app_api_token=APP_TOKEN, max_attempts=3) as sidecar:
        yield sidecar


async def publish(sidecar: DaprSidecar, *events: CloudEvent) -> None:
    await DaprMessageSink(sidecar, pubsub="pubsub", topic="orders").send(events)


def event(event_id: str, event_type: str = PLACED) -> CloudEvent:
    attributes = {"id": event_id, "source": "shop", "type": event_type, "time": datetime.now(UTC)}
    return CloudEvent({**attributes, "tenantid": "acme"}, {"order": event_id})


async def settled(stand_in: DaprStandIn, predicate: Callable[[list[DeliveryRecord]], bool]) -> list[DeliveryRecord]:
    async with asyncio.timeout(10):
        return await stand_in.deliveries.wait_for(predicate)


def ids(records: list[DeliveryRecord], topic: str) -> list[str]:
    return [record.event_id for record in records if record.topic == topic]


async def test_an_event_is_posted_as_a_structured_cloud_event_to_the_route_its_type_selects(
    app: SubscriberApp, stand_in: DaprStandIn, sidecar: DaprSidecar
) -> None:
    await publish(sidecar, event("e-1"), event("e-2", "apibase.Unknown"))
    records = await settled(stand_in, lambda records: len(records) == 2)
    assert [(r.event_id, r.path, r.status, r.attempts) for r in records] == [
        ("e-1", "/events/dapr/placed", "SUCCESS", 1),
        ("e-2", "/events/dapr/other", "SUCCESS", 1),
    ]
    route, content_type, body, token = app.received[0]
    assert (route, content_type, token) == ("placed", "application/cloudevents+json", APP_TOKEN)
    assert (body["id"], body["type"], body["tenantid"], body["data"]) == ("e-1", PLACED, "acme", {"order": "e-1"})
    assert (body["topic"], body["pubsubname"]) == ("orders", "pubsub")


async def test_retry_is_redelivered_until_success_in_order(
    app: SubscriberApp, stand_in: DaprStandIn, sidecar: DaprSidecar
) -> None:
    app.script = {"e-1": ["RETRY", 503]}
    await publish(sidecar, event("e-1"), event("e-2"))
    records = await settled(stand_in, lambda records: len(records) == 2)
    assert [(r.event_id, r.status, r.attempts, r.dead_lettered_to) for r in records] == [
        ("e-1", "SUCCESS", 3, None),
        ("e-2", "SUCCESS", 1, None),
    ]
    assert [body["id"] for _, _, body, _ in app.received] == ["e-1", "e-1", "e-1", "e-2"]


async def test_drop_goes_to_the_dead_letter_topic_and_its_subscriber(
    app: SubscriberApp, stand_in: DaprStandIn, sidecar: DaprSidecar
) -> None:
    app.script = {"poison": ["DROP"]}
    await publish(sidecar, event("poison"))
    records = await settled(stand_in, lambda records: len(records) == 2)
    assert [(r.topic, r.event_id, r.status, r.attempts, r.dead_lettered_to) for r in records] == [
        ("orders", "poison", "DROP", 1, "orders.dead-letter"),
        ("orders.dead-letter", "poison", "SUCCESS", 1, None),
    ]
    route, _, body, _ = app.received[-1]
    assert (route, body["topic"], body["data"]) == ("dead", "orders.dead-letter", {"order": "poison"})


async def test_retries_exhausted_and_404_are_dead_lettered_too(
    app: SubscriberApp, stand_in: DaprStandIn, sidecar: DaprSidecar
) -> None:
    app.script = {"stuck": ["RETRY", 500, "RETRY"], "gone": [404], "odd": ["MAYBE", "SUCCESS"]}
    await publish(sidecar, event("stuck"), event("gone"), event("odd"))
    records = await settled(
        stand_in, lambda records: len(ids(records, "orders")) == 3 and len(ids(records, "orders.dead-letter")) == 2
    )
    outcomes = {r.event_id: (r.status, r.attempts) for r in records if r.topic == "orders"}
    assert outcomes == {"stuck": ("RETRY", 3), "gone": ("DROP", 1), "odd": ("SUCCESS", 2)}
    assert ids(records, "orders.dead-letter") == ["stuck", "gone"]


async def test_events_published_before_delivery_starts_are_delivered(redis: Redis, app: SubscriberApp) -> None:
    async with DaprStandIn(redis) as publisher_side:
        client = DaprSidecar(publisher_side.settings)
        try:
            await publish(client, event("early"))
        finally:
            await client.close()
        # The subscriber's sidecar, on the same Redis component, starts after the event was published.
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.api), base_url="http://app")
        delivering = DaprStandIn(redis, app=http, app_api_token=APP_TOKEN, key_prefix=publisher_side.prefix)
        async with http, delivering:
            async with asyncio.timeout(10):
                records = await delivering.deliveries.wait_for(lambda records: len(records) == 1)
    assert records[0].event_id == "early"


async def test_a_subscription_list_the_app_refuses_fails_the_start_and_stops_what_started(
    redis: Redis, app: SubscriberApp
) -> None:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.api), base_url="http://app")
    async with http:
        with pytest.raises(httpx.HTTPStatusError, match="401"):
            async with DaprStandIn(redis, app=http, app_api_token="not-the-apps-token"):
                pytest.fail("started although the app refused its token")
