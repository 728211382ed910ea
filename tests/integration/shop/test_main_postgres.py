"""The reference service on a real PostgreSQL: migrated at start-up into a database of its own, then used."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from apibase.testing.roundtrip import assert_resources_round_trip
from apibase.testing.service import service_settings, sign_up
from shop.main import create_app
from shop.testing.order_events import assert_orders_reach_the_sales_counters
from shop.testing.sales import assert_sales_report

pytestmark = pytest.mark.integration


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    """A throwaway database next to ``test``, so migrations run from nothing and nothing leaks."""
    admin = make_url(postgres_url)
    name = f"apibase_it_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(host=admin.host, port=admin.port, user=admin.username, database=admin.database)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(service_settings(database_url, auto_migrate=True))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        http.headers.update(await sign_up(http))
        yield http


async def test_products_and_orders_round_trip_on_postgres(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/ready")).json()["checks"]["database"]["status"] == "ok"
    product = {"sku": "PG-001", "name": "Kettle", "price": "24.50", "stock": 3}
    created = await client.post("/api/v1/products", json=product)
    assert created.status_code == 201, created.text
    gear = created.json()["data"]
    assert (await client.post("/api/v1/products", json=product)).json()["code"] == "catalog.duplicate_sku"
    order = await client.post(
        "/api/v1/orders",
        json={"customer_email": "ada@example.com", "lines": [{"product_id": gear["id"], "quantity": 2}]},
    )
    assert order.status_code == 201, order.text
    assert order.json()["data"]["total"] == "49.00"
    stale = await client.patch(
        f"/api/v1/products/{gear['id']}", json={"name": "x"}, headers={"If-Match": created.headers["etag"]}
    )
    assert stale.status_code == 412
    listed = (await client.get("/api/v1/products", params={"price__gte": "20", "count": "estimated"})).json()
    assert [item["stock"] for item in listed["items"]] == [1]
    v2 = (await client.get("/api/v2/products", params={"sort": "-price"})).json()
    assert v2["items"][0]["price"] == {"amount": "24.50", "currency": "EUR"}


async def test_v2_round_trips_returns_and_reused_skus_on_postgres(client: httpx.AsyncClient) -> None:
    assert await assert_resources_round_trip(client, "/api/v2/openapi.json") == ["/products"]
    body = {"sku": "PG-002", "name": "Mug", "price": {"amount": "5.00", "currency": "EUR"}, "stock": 4}
    first = (await client.post("/api/v2/products", json=body)).json()["data"]
    assert (await client.delete(f"/api/v2/products/{first['id']}")).status_code == 204
    again = await client.post("/api/v2/products", json=body)
    assert again.status_code == 201, again.text
    assert (await client.post("/api/v2/products", json=body)).json()["code"] == "catalog.duplicate_sku"
    mug = again.json()["data"]
    lines = [{"product_id": mug["id"], "quantity": 3}]
    placed = (await client.post("/api/v2/orders", json={"customer_email": "ada@example.com", "lines": lines})).json()
    url = f"/api/v2/orders/{placed['data']['id']}"
    for step in ("pay", "ship"):
        assert (await client.post(f"{url}/{step}")).status_code == 200
    returned = await client.post(f"{url}/return", json={"reason": "too small"})
    assert returned.status_code == 200, returned.text
    assert (returned.json()["data"]["status"], returned.json()["data"]["total"]) == (
        "returned",
        {"amount": "15.00", "currency": "EUR"},
    )
    assert (await client.get(f"/api/v2/products/{mug['id']}")).json()["data"]["stock"] == 4


async def test_text_postgres_cannot_store_is_a_422_naming_the_field(client: httpx.AsyncClient) -> None:
    product = {"sku": "PG-NUL", "name": "nul \u0000 here", "price": {"amount": "1.00", "currency": "EUR"}}
    created = await client.post("/api/v2/products", json=product)
    assert created.status_code == 422, created.text
    assert [error["loc"] for error in created.json()["errors"]] == [["body", "name"]]
    listed = await client.get("/api/v2/products?name__contains=%00")
    assert listed.status_code == 422, listed.text
    assert [error["loc"] for error in listed.json()["errors"]] == [["query", "name__contains"]]
    read = await client.get("/api/v2/products/a%00b")
    assert [error["loc"] for error in read.json()["errors"]] == [["path", "entity_id"]]
    assert (await client.post("/api/v2/products", json={**product, "name": "no nul"})).status_code == 201


async def test_the_sales_report_on_postgres(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The same history and figures as on SQLite: grouping, UTC day boundaries, statuses, currencies."""
    await assert_sales_report(client, app.state.kernel.session_factory)


async def test_orders_reach_the_sales_counters_through_the_outbox_on_postgres(client: httpx.AsyncClient) -> None:
    """The outbox, the relay, the in-process transport and the inbox on PostgreSQL (the default publisher)."""
    await assert_orders_reach_the_sales_counters(client)
