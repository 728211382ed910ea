"""The delivery routes through the real app and its whole middleware stack: Dapr's and Knative's, both content modes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent
from fastapi import FastAPI

from apibase.application.subscriptions import DropEvent, Subscription, SubscriptionHandler
from apibase.core.context import current_tenant
from apibase.core.settings import DaprSettings, RateLimitSection
from apibase.domain.identity.permissions import Permission
from apibase.kernel import Kernel
from apibase.main import create_app
from apibase.module import Features, Migrations
from apibase.testing.service import service_settings
from apibase.testing.subscriptions import make_event

# One app for the module (building one migrates a database): each test uses events of its own.
pytestmark = [pytest.mark.unit, pytest.mark.asyncio(loop_scope="module")]

PLACED, CANCELLED = "apibase.OrderPlaced", "apibase.OrderCancelled"
PROBLEM = "application/problem+json"
TOKEN = "sidecar-secret"


@dataclass
class Subscriber:
    """A module subscribing to order events; what each payload asks for, its handler does (succeed, fail, drop)."""

    name: str = "subscriber"
    migrations: Migrations | None = None
    handled: list[tuple[str, str, str | None, object]] = field(default_factory=list)

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {}

    def handler(self, name: str) -> SubscriptionHandler:
        async def handle(event: BaseCloudEvent) -> None:
            data = event.get_data()
            outcome = data.get("outcome") if isinstance(data, dict) else None
            if outcome == "retry":
                raise RuntimeError("the stock service is down")
            if outcome == "drop":
                raise DropEvent("this order never existed")
            self.handled.append((name, event.get_id(), current_tenant(), data))

        return handle

    def build(self, kernel: Kernel) -> Features:
        return Features(
            subscriptions=[
                Subscription("sales.on-placed", PLACED, self.handler("sales.on-placed")),
                Subscription("sales.on-cancelled", CANCELLED, self.handler("sales.on-cancelled")),
                Subscription("stock.on-cancelled", CANCELLED, self.handler("stock.on-cancelled")),
                Subscription("billing.on-paid", "payments.Paid", self.handler("billing.on-paid"), "payments.events"),
            ]
        )


@dataclass
class Harness:
    app: FastAPI
    http: httpx.AsyncClient
    subscriber: Subscriber


async def _harness(directory: Path, *, dapr: DaprSettings) -> AsyncIterator[Harness]:
    subscriber = Subscriber()
    settings = service_settings(
        directory / "events.db",
        service_name="shop",
        dapr=dapr,
        # One request a minute per client: a broker's deliveries must not count.
        rate_limit=RateLimitSection(client_limit="1/minute", user_limit="1/minute"),
    )
    app = create_app(settings, modules=[subscriber])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield Harness(app, http, subscriber)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    async for each in _harness(tmp_path_factory.mktemp("events"), dapr=DaprSettings(pubsub="orders-pubsub")):
        yield each


@pytest.fixture
def harness(shared: Harness) -> Harness:
    shared.subscriber.handled.clear()
    return shared


def structured(event: CloudEvent) -> dict[str, object]:
    message = to_structured_event(event)
    return {"content": message.body, "headers": message.headers}


def binary(event: CloudEvent) -> dict[str, object]:
    message = to_binary_event(event)
    return {"content": message.body, "headers": message.headers}


async def test_dapr_subscribe_announces_routing_rules_per_topic_with_dead_letter_topics(harness: Harness) -> None:
    answer = await harness.http.get("/dapr/subscribe")

    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {
            "pubsubname": "orders-pubsub",
            "topic": "shop.events",
            "routes": {
                "rules": [
                    {"match": 'event.type == "apibase.OrderPlaced"', "path": "/events/dapr/sales.on-placed"},
                    {"match": 'event.type == "apibase.OrderCancelled"', "path": "/events/dapr"},
                ]
            },
            "deadLetterTopic": "shop.events.dead-letter",
        },
        {
            "pubsubname": "orders-pubsub",
            "topic": "payments.events",
            "routes": {"rules": [{"match": 'event.type == "payments.Paid"', "path": "/events/dapr/billing.on-paid"}]},
            "deadLetterTopic": "payments.events.dead-letter",
        },
    ]


@pytest.mark.parametrize("mode", [structured, binary], ids=["structured", "binary"])
async def test_dapr_delivers_to_a_subscription_once_in_either_content_mode(harness: Harness, mode: object) -> None:
    event = make_event({"order": "o-1"}, event_type=PLACED, tenantid="acme")
    encode = structured if mode is structured else binary

    first = await harness.http.post("/events/dapr/sales.on-placed", **encode(event))
    again = await harness.http.post("/events/dapr/sales.on-placed", **encode(event))

    assert (first.status_code, first.json()) == (200, {"status": "SUCCESS"})
    assert (again.status_code, again.json()) == (200, {"status": "SUCCESS"})  # deduplicated, not refused
    assert harness.subscriber.handled == [("sales.on-placed", event.get_id(), "acme", {"order": "o-1"})]


async def test_dapr_hears_retry_and_drop_in_the_body(harness: Harness) -> None:
    retry = make_event({"outcome": "retry"}, event_type=PLACED)
    drop = make_event({"outcome": "drop"}, event_type=PLACED)

    retried = await harness.http.post("/events/dapr/sales.on-placed", **binary(retry))
    dropped = await harness.http.post("/events/dapr/sales.on-placed", **structured(drop))

    assert (retried.status_code, retried.json()) == (200, {"status": "RETRY"})
    assert (dropped.status_code, dropped.json()) == (200, {"status": "DROP"})


async def test_the_shared_route_runs_every_subscription_to_the_type(harness: Harness) -> None:
    event = make_event({"order": "o-2"}, event_type=CANCELLED)

    answer = await harness.http.post("/events/dapr", **structured(event))

    assert (answer.status_code, answer.json()) == (200, {"status": "SUCCESS"})
    assert sorted(name for name, *_ in harness.subscriber.handled) == ["sales.on-cancelled", "stock.on-cancelled"]


async def test_an_unknown_subscription_is_a_404_problem_which_dapr_drops(harness: Harness) -> None:
    answer = await harness.http.post("/events/dapr/nobody.here", **structured(make_event()))

    assert answer.status_code == 404
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["code"] == "events.unknown_subscription"


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({"content-type": "application/cloudevents+json"}, b"{not json", 400, "events.malformed_event"),
        ({"content-type": "application/cloudevents+json"}, b"[1, 2]", 400, "events.malformed_event"),
        ({"content-type": "application/cloudevents+json"}, b'{"specversion": "1.0"}', 400, "events.malformed_event"),
        ({"content-type": "application/json"}, b'{"order": "o-1"}', 400, "events.malformed_event"),
        ({"ce-specversion": "1.0", "ce-type": PLACED, "ce-source": "/x"}, b"{}", 400, "events.malformed_event"),
        (
            {"ce-specversion": "1.0", "ce-id": "1", "ce-type": PLACED, "ce-source": "/x", "ce-time": "yesterday"},
            b"",
            400,
            "events.malformed_event",
        ),
        ({"content-type": "application/cloudevents-batch+json"}, b"[]", 415, "events.unsupported_content_mode"),
    ],
    ids=["not-json", "not-an-object", "no-id", "no-attributes", "binary-without-id", "bad-time", "batch"],
)
@pytest.mark.parametrize("path", ["/events/dapr/sales.on-placed", "/events"])
async def test_a_malformed_cloud_event_is_a_problem_never_a_500(
    harness: Harness, path: str, headers: dict[str, str], body: bytes, status: int, code: str
) -> None:
    answer = await harness.http.post(path, content=body, headers=headers)

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["code"] == code
    assert harness.subscriber.handled == []


@pytest.mark.parametrize("mode", [structured, binary], ids=["structured", "binary"])
async def test_knative_reads_the_status_code(harness: Harness, mode: object) -> None:
    encode = structured if mode is structured else binary
    ok = make_event({"order": "o-3"}, event_type=PLACED)
    retry = make_event({"outcome": "retry"}, event_type=PLACED)
    drop = make_event({"outcome": "drop"}, event_type=PLACED)

    handled = await harness.http.post("/events", **encode(ok))
    retried = await harness.http.post("/events", **encode(retry))
    dropped = await harness.http.post("/events", **encode(drop))
    unheard = await harness.http.post("/events", **encode(make_event(event_type="apibase.Nobody")))

    assert (handled.status_code, handled.json()) == (200, {"status": "SUCCESS"})
    assert (retried.status_code, retried.headers["retry-after"]) == (503, "1")
    assert retried.json()["code"] == "events.retry_later"
    assert (dropped.status_code, dropped.json()["code"]) == (422, "events.event_dropped")
    assert dropped.headers["content-type"] == retried.headers["content-type"] == PROBLEM
    assert unheard.status_code == 200  # nobody subscribes: acknowledged, nothing ran
    assert [event_id for _, event_id, *_ in harness.subscriber.handled] == [ok.get_id()]


async def test_deliveries_pass_the_middleware_stack_untouched(harness: Harness) -> None:
    """Rate limit of one a minute, an Idempotency-Key, a NUL in the payload, text data: still delivered."""
    replayed = make_event({"outcome": "retry"}, event_type=PLACED)
    keyed = {**binary(replayed)["headers"], "Idempotency-Key": "k-1"}
    first = await harness.http.post("/events", content=binary(replayed)["content"], headers=keyed)
    again = await harness.http.post("/events", content=binary(replayed)["content"], headers=keyed)
    assert (first.status_code, again.status_code) == (503, 503)
    assert "idempotent-replayed" not in again.headers

    with_nul = make_event({"order": "o-\u0000"}, event_type=PLACED)
    text = CloudEvent(
        {"id": "t-1", "source": "/x", "type": PLACED, "datacontenttype": "text/plain", "specversion": "1.0"}, "plain"
    )
    for event in (with_nul, text):
        answer = await harness.http.post("/events", **binary(event))
        assert answer.status_code == 200, answer.text

    assert [data for *_, data in harness.subscriber.handled] == [{"order": "o-\u0000"}, "plain"]
    assert (await harness.http.get("/dapr/subscribe")).status_code == 200
    # A user's request on the versioned API is still limited: the budget was one a minute.
    limited = [(await harness.http.get("/api/v1/auth/me")).status_code for _ in range(2)]
    assert 429 in limited


async def test_with_an_app_token_every_route_needs_the_sidecars_header(tmp_path: Path) -> None:
    async for harness in _harness(tmp_path, dapr=DaprSettings(pubsub="orders-pubsub", app_api_token=TOKEN)):
        event = make_event(event_type=PLACED)
        for headers in ({}, {"dapr-api-token": "guess"}):
            refused = [
                await harness.http.get("/dapr/subscribe", headers=headers),
                await harness.http.post("/events", **_with(binary(event), headers)),
                await harness.http.post("/events/dapr/sales.on-placed", **_with(structured(event), headers)),
            ]
            assert [answer.status_code for answer in refused] == [401, 401, 401]
            assert {answer.json()["code"] for answer in refused} == {"events.invalid_app_token"}
        assert harness.subscriber.handled == []

        token = {"dapr-api-token": TOKEN}
        assert (await harness.http.get("/dapr/subscribe", headers=token)).status_code == 200
        answer = await harness.http.post("/events/dapr/sales.on-placed", **_with(structured(event), token))
        assert answer.json() == {"status": "SUCCESS"}


def _with(request: dict[str, object], headers: Mapping[str, str]) -> dict[str, object]:
    return {**request, "headers": {**request["headers"], **headers}}


async def test_the_routes_are_announced_to_the_broker_only(harness: Harness) -> None:
    assert "/events" not in json.dumps(harness.app.openapi())


async def test_an_event_as_daprd_delivers_it_with_its_own_attributes(harness: Harness) -> None:
    """daprd adds pubsubname, topic and its trace attributes to the CloudEvent the app published."""
    body = {
        "specversion": "1.0",
        "id": "dapr-1",
        "source": "/shop",
        "type": PLACED,
        "datacontenttype": "application/json",
        "data": {"order": "o-9"},
        "time": "2026-12-07T14:00:00Z",
        "schemaversion": 1,
        "tenantid": "acme",
        "pubsubname": "orders-pubsub",
        "topic": "shop.events",
        "traceid": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "tracestate": "",
    }

    answer = await harness.http.post(
        "/events/dapr/sales.on-placed",
        content=json.dumps(body),
        headers={"content-type": "application/cloudevents+json", "traceparent": body["traceparent"]},
    )

    assert answer.json() == {"status": "SUCCESS"}
    assert harness.subscriber.handled == [("sales.on-placed", "dapr-1", "acme", {"order": "o-9"})]
