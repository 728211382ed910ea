"""The reference service's events end to end on SQLite, with the default in-process transport: an order placed over
HTTP leaves through the outbox, the relay hands it to the in-process transport, the dispatcher runs the catalog's
subscription through the inbox, and the product's sales counters show it over HTTP. The same events delivered by a
broker over HTTP (the Dapr and Knative routes) are counted once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio
from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from fastapi import FastAPI

from apibase.infrastructure.messaging.cloud_events import cloud_event_type, to_cloud_event
from apibase.infrastructure.persistence.tenancy import tenant_scope
from apibase.testing.service import service_settings, sign_up
from shop.catalog.application.sales_counters import SalesCounterHandlers
from shop.catalog.domain import ProductId
from shop.catalog.infrastructure import sales_counters
from shop.catalog.module import CATALOG_EVENTS
from shop.main import create_app
from shop.ordering.domain import Order, OrderLine
from shop.ordering.module import ORDERING_EVENTS
from shop.testing.order_events import assert_orders_reach_the_sales_counters, await_sales, new_product, place_order

# One service for the module (its start-up dominates): each test uses tenants and products of its own.
pytestmark = [pytest.mark.unit, pytest.mark.asyncio(loop_scope="module")]


async def test_the_catalog_subscribes_only_to_events_ordering_publishes() -> None:
    published = {cloud_event_type(event) for event in ORDERING_EVENTS}
    subscribed = {subscription.event_type for subscription in SalesCounterHandlers(sales_counters).subscriptions()}

    assert subscribed == published - {"apibase.OrderPaid"}


STEPS = ("placed", "cancelled", "shipped", "returned")
SUBSCRIPTION = "catalog.sales-on-order-placed"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    app = create_app(service_settings(tmp_path_factory.mktemp("events") / "service.db"))
    async with app.router.lifespan_context(app):
        yield app


async def test_the_asyncapi_document_shows_what_ordering_sends_and_the_catalog_receives(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        document = (await client.get("/asyncapi.json")).json()

    operations = {name: operation["action"] for name, operation in document["operations"].items()}
    assert operations == {
        **{f"send.{cloud_event_type(event)}": "send" for event in (*CATALOG_EVENTS, *ORDERING_EVENTS)},
        **{
            f"receive.catalog.sales-on-order-{step}": "receive"
            for step in ("placed", "cancelled", "shipped", "returned")
        },
    }
    assert "lines" in document["components"]["schemas"]["OrderPlaced"]["properties"]


async def test_orders_reach_the_catalog_s_sales_counters_through_the_outbox(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        client.headers.update(await sign_up(client))
        await assert_orders_reach_the_sales_counters(client)


async def test_each_tenant_s_orders_reach_only_its_own_counters(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://test") as acme,
        httpx.AsyncClient(transport=transport, base_url="http://test") as globex,
    ):
        acme.headers.update(await sign_up(acme, tenant="acme"))
        globex.headers.update(await sign_up(globex, tenant="globex"))
        ours, theirs = await new_product(acme, "1.00", sku="MUG-1"), await new_product(globex, "4.00", sku="MUG-1")
        await place_order(acme, ours, 1)
        await place_order(globex, theirs, 5)

        await await_sales(acme, ours, {"units_ordered": 1, "net_revenue": [{"amount": "1.00", "currency": "EUR"}]})
        await await_sales(globex, theirs, {"units_ordered": 5, "net_revenue": [{"amount": "20.00", "currency": "EUR"}]})
        assert (await globex.get(f"/api/v2/products/{ours}/sales")).status_code == 404


async def test_an_order_event_delivered_over_http_is_counted_once(app: FastAPI) -> None:
    """The Dapr route (binary mode: the schema version arrives as a header string) and the Knative one (structured),
    through the dispatcher and its inbox: the redelivery is a no-op, a payload the catalog can never read a DROP."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        client.headers.update(await sign_up(client, tenant="initech"))
        product_id = await new_product(client, "3.00")
        line = OrderLine.of(
            product_id=ProductId.parse(product_id), sku="ANY-1", unit_price=Decimal("3.00"), currency="EUR", quantity=4
        )
        with tenant_scope("initech"):
            [placed] = [
                to_cloud_event(event, source="/shop")
                for event in Order.place(customer_email="ada@example.com", currency="EUR", lines=[line]).pull_events()
            ]
        binary, structured = to_binary(placed, JSONFormat()), to_structured(placed, JSONFormat())

        answers = [
            await client.post(
                "/events/dapr/catalog.sales-on-order-placed", headers=binary.headers, content=binary.body
            ),
            await client.post("/events", headers=structured.headers, content=structured.body),
        ]
        poison = CloudEvent(
            {"id": "poison-1", "source": "/shop", "type": "apibase.OrderPlaced", "tenantid": "initech"}, {"lines": []}
        )
        dropped = to_structured(poison, JSONFormat())
        refused = await client.post("/events/dapr", headers=dropped.headers, content=dropped.body)

        assert [(answer.status_code, answer.json()["status"]) for answer in answers] == [(200, "SUCCESS")] * 2
        assert (refused.status_code, refused.json()["status"]) == (200, "DROP")
        counted = {"units_ordered": 4, "order_count": 1, "net_revenue": [{"amount": "12.00", "currency": "EUR"}]}
        await await_sales(client, product_id, counted, within=0)
