"""The sales report over HTTP on SQLite: grouping, tenant isolation, its permission and its 422 problems."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from apibase.testing.service import ADMIN_PASSWORD, log_in, service_settings, sign_up
from shop.main import create_app
from shop.ordering.infrastructure.tables import OrderLineRow
from shop.testing.sales import (
    FIRST_DAY,
    LAST_DAY,
    REPORT,
    Sessions,
    assert_sales_report,
    paid_order,
    product,
)

pytestmark = pytest.mark.unit

RANGE = {"from": FIRST_DAY, "to": LAST_DAY}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = create_app(service_settings(tmp_path / "service.db"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def sessions(app: FastAPI) -> Sessions:
    factory: Sessions = app.state.kernel.session_factory
    return factory


def connect(app: FastAPI) -> httpx.AsyncClient:
    """A client without credentials."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The admin of the tenant ``default``."""
    async with connect(app) as http:
        http.headers.update(await sign_up(http))
        yield http


async def test_sales_per_product_and_per_day(client: httpx.AsyncClient, sessions: Sessions) -> None:
    await assert_sales_report(client, sessions)


async def test_no_sales_is_an_empty_report(client: httpx.AsyncClient) -> None:
    response = await client.get(REPORT, params={**RANGE, "group_by": "day"})

    assert response.status_code == 200
    assert response.json()["data"]["rows"] == []


async def test_group_by_defaults_to_product(client: httpx.AsyncClient, sessions: Sessions) -> None:
    gear = await product(client, "GEAR-1", "1.00")
    await paid_order(client, sessions, {gear: 2}, None, "pay")  # paid now, so report on today's range
    today = (await client.get("/api/v2/orders")).json()["items"][0]["paid_at"][:10]

    report = (await client.get(REPORT, params={"from": today, "to": today})).json()["data"]

    assert report["group_by"] == "product"
    assert [(row["sku"], row["units_sold"]) for row in report["rows"]] == [("GEAR-1", 2)]


async def test_another_tenants_orders_are_never_counted(
    app: FastAPI, client: httpx.AsyncClient, sessions: Sessions
) -> None:
    ours = await product(client, "OURS-1", "1.00")
    await paid_order(client, sessions, {ours: 1}, None, "pay")
    async with connect(app) as theirs:
        theirs.headers.update(await sign_up(theirs, tenant="globex"))
        for sku in ("THEIRS-1", "THEIRS-2"):
            await paid_order(theirs, sessions, {await product(theirs, sku, "9.00"): 5}, None, "pay")
        today = (await theirs.get("/api/v2/orders")).json()["items"][0]["paid_at"][:10]
        their_report = (await theirs.get(REPORT, params={"from": today, "to": today})).json()["data"]
        their_days = (await theirs.get(REPORT, params={"from": today, "to": today, "group_by": "day"})).json()
    our_report = (await client.get(REPORT, params={"from": today, "to": today})).json()["data"]
    our_days = (await client.get(REPORT, params={"from": today, "to": today, "group_by": "day"})).json()["data"]

    assert [row["sku"] for row in our_report["rows"]] == ["OURS-1"]
    assert [(row["units_sold"], row["order_count"]) for row in our_days["rows"]] == [(1, 1)]
    assert sorted(row["sku"] for row in their_report["rows"]) == ["THEIRS-1", "THEIRS-2"]
    assert [(row["units_sold"], row["order_count"]) for row in their_days["data"]["rows"]] == [(10, 2)]


async def test_anonymous_callers_get_a_401(app: FastAPI) -> None:
    async with connect(app) as anonymous:
        response = await anonymous.get(REPORT, params=RANGE, headers={"X-Tenant-ID": "default"})

    assert response.status_code == 401
    assert response.json()["code"] == "access.authentication_required"


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("editor", 200)])
async def test_the_report_needs_reports_read(client: httpx.AsyncClient, role: str, status: int) -> None:
    email = f"{role}@example.com"
    added = await client.post("/api/v2/auth/users", json={"email": email, "password": ADMIN_PASSWORD, "roles": [role]})
    assert added.status_code == 201, added.text
    headers = await log_in(client, tenant="default", email=email, password=ADMIN_PASSWORD)

    response = await client.get(REPORT, params=RANGE, headers=headers)

    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "access.permission_denied"
        assert response.json()["missing"] == ["reports:read"]


@pytest.mark.parametrize(
    ("params", "loc", "type_"),
    [
        ({"from": LAST_DAY, "to": FIRST_DAY}, ["query", "from"], "range.reversed"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, ["query", "to"], "range.too_long"),  # 367 days
        ({"from": "2026-02-30", "to": LAST_DAY}, ["query", "from"], None),
        ({"from": FIRST_DAY, "to": "yesterday"}, ["query", "to"], None),
        ({"to": LAST_DAY}, ["query", "from"], "missing"),
        ({**RANGE, "group_by": "week"}, ["query", "group_by"], "enum"),
    ],
)
async def test_bad_input_is_a_422_problem(
    client: httpx.AsyncClient, params: dict[str, str], loc: list[str], type_: str | None
) -> None:
    response = await client.get(REPORT, params=params)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "common.validation_failed"
    assert [error["loc"] for error in problem["errors"]] == [loc]
    if type_ is not None:
        assert problem["errors"][0]["type"] == type_


async def test_a_leap_year_fits_in_one_report(client: httpx.AsyncClient) -> None:
    response = await client.get(REPORT, params={"from": "2024-01-01", "to": "2024-12-31"})  # 366 days

    assert response.status_code == 200


async def test_the_report_is_v2_only(client: httpx.AsyncClient) -> None:
    assert (await client.get(REPORT.replace("/v2/", "/v1/"), params=RANGE)).status_code == 404
    v2 = (await client.get("/api/v2/openapi.json")).json()
    assert "/reports/sales" in v2["paths"]


async def test_another_tenants_catalog_never_names_a_row(
    app: FastAPI, client: httpx.AsyncClient, sessions: Sessions
) -> None:
    """A line pointing at another tenant's product id (only SQL can do that) stays unnamed: the join is scoped."""
    order_id = await paid_order(client, sessions, {await product(client, "OURS-1", "1.00"): 1}, None, "pay")
    async with connect(app) as theirs:
        theirs.headers.update(await sign_up(theirs, tenant="globex"))
        secret = await product(theirs, "SECRET-1", "9.00")
    async with sessions() as session, session.begin():
        line = OrderLineRow.order_id == uuid.UUID(order_id)
        await session.execute(update(OrderLineRow).where(line).values(product_id=uuid.UUID(secret)))
    today = (await client.get(f"/api/v2/orders/{order_id}")).json()["data"]["paid_at"][:10]

    rows = (await client.get(REPORT, params={"from": today, "to": today})).json()["data"]["rows"]

    assert [(row["product_id"], row["sku"], row["name"]) for row in rows] == [(secret, None, None)]
