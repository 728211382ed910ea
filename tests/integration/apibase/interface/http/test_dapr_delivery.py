"""The kernel's own Dapr routes, delivered to by the stand-in sidecar as daprd would: the two sides meet at
Dapr's API. Events go in through the kernel's Dapr publisher (SDK, gRPC, Redis stream); the stand-in reads the
app's ``GET /dapr/subscribe`` and POSTs each event to its subscription's route, with the app token; the
dispatcher runs the handler through the inbox and answers SUCCESS, RETRY or DROP."""

import asyncio
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from cloudevents.core.base import BaseCloudEvent
from redis.asyncio import Redis

from apibase.application.subscriptions import DropEvent, Subscription
from apibase.core.context import current_tenant
from apibase.core.settings import DaprSettings
from apibase.domain.identity.permissions import Permission
from apibase.infrastructure.dapr.client import DaprSidecar
from apibase.infrastructure.events.transports.dapr import DaprMessageSink
from apibase.kernel import Kernel
from apibase.main import create_app
from apibase.module import Features
from apibase.testing.dapr_sidecar import DaprStandIn
from apibase.testing.service import service_settings
from apibase.testing.subscriptions import make_event

pytestmark = pytest.mark.integration

PLACED = "apibase.OrderPlaced"
APP_TOKEN = "app-token"


class Sales:
    """Counts placed orders; a payload says whether to fail once (``retry-once``) or never be handled (``drop``)."""

    name = "sales"
    migrations = None

    def __init__(self) -> None:
        self.handled: list[tuple[str, str | None]] = []
        self.failed_once: set[str] = set()

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {}

    async def on_placed(self, event: BaseCloudEvent) -> None:
        outcome = (event.get_data() or {}).get("outcome")
        if outcome == "retry-once" and event.get_id() not in self.failed_once:
            self.failed_once.add(event.get_id())
            raise RuntimeError("the ledger is down")
        if outcome == "drop":
            raise DropEvent("an order that never existed")
        self.handled.append((event.get_id(), current_tenant()))

    def build(self, kernel: Kernel) -> Features:
        return Features(subscriptions=[Subscription("sales.on-placed", PLACED, self.on_placed)])


async def test_daprs_deliveries_reach_the_handler_once_with_retry_drop_and_dead_letter(
    tmp_path: Path, redis: Redis
) -> None:
    sales = Sales()
    settings = service_settings(tmp_path / "events.db", service_name="shop", dapr=DaprSettings(app_api_token=APP_TOKEN))
    app = create_app(settings, modules=[sales])
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://shop") as http,
        DaprStandIn(redis, app=http, app_api_token=APP_TOKEN) as dapr,
    ):
        sidecar = DaprSidecar(dapr.settings)
        try:
            events = [
                make_event({"outcome": "ok"}, event_type=PLACED, event_id="o-1", tenantid="acme"),
                make_event({"outcome": "retry-once"}, event_type=PLACED, event_id="o-2", tenantid="acme"),
                make_event({"outcome": "drop"}, event_type=PLACED, event_id="o-3", tenantid="acme"),
                make_event({"outcome": "ok"}, event_type=PLACED, event_id="o-1", tenantid="acme"),  # redelivered
            ]
            await DaprMessageSink(sidecar, pubsub="pubsub", topic="shop.events").send(events)
            async with asyncio.timeout(15):
                records = await dapr.deliveries.wait_for(lambda records: len(records) == 4)
        finally:
            await sidecar.close()
        dead_letters = await dapr.topics.events("pubsub", "shop.events.dead-letter")
    outcomes = [(r.event_id, r.path, r.status, r.attempts, r.dead_lettered_to) for r in records]
    assert outcomes == [
        ("o-1", "/events/dapr/sales.on-placed", "SUCCESS", 1, None),
        ("o-2", "/events/dapr/sales.on-placed", "SUCCESS", 2, None),
        ("o-3", "/events/dapr/sales.on-placed", "DROP", 1, "shop.events.dead-letter"),
        ("o-1", "/events/dapr/sales.on-placed", "SUCCESS", 1, None),
    ]
    assert sales.handled == [("o-1", "acme"), ("o-2", "acme")], "the inbox absorbed the redelivery"
    assert [event["id"] for event in dead_letters] == ["o-3"]
