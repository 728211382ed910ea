"""``GET /api/v2/products/{id}/sales`` over HTTP on SQLite: its answers, its permission and its OpenAPI entry.

Counters that move are shown end to end (a placed order through the outbox) in ``tests/unit/shop/test_order_events.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from apibase.testing.problems import assert_problem
from apibase.testing.service import ADMIN_PASSWORD, log_in, service_settings, sign_up
from shop.main import create_app
from shop.testing.sales import product

# One service for the module (its start-up dominates): every test uses products of its own.
pytestmark = [pytest.mark.unit, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    app = create_app(service_settings(tmp_path_factory.mktemp("sales") / "service.db"))
    async with app.router.lifespan_context(app):
        yield app


def connect(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The admin of the tenant ``default``."""
    async with connect(app) as http:
        http.headers.update(await sign_up(http))
        yield http


def sales_of(product_id: str) -> str:
    return f"/api/v2/products/{product_id}/sales"


async def test_a_product_without_sales_shows_zero_counters(client: httpx.AsyncClient) -> None:
    product_id = await product(client, f"ZERO-{uuid.uuid4().hex[:6].upper()}", "2.50")

    response = await client.get(sales_of(product_id))

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "product_id": product_id,
        "units_ordered": 0,
        "units_cancelled": 0,
        "units_shipped": 0,
        "units_returned": 0,
        "units_net": 0,
        "order_count": 0,
        "net_revenue": [],
    }


async def test_an_unknown_or_deleted_product_is_a_404(client: httpx.AsyncClient) -> None:
    deleted = await product(client, f"GONE-{uuid.uuid4().hex[:6].upper()}", "2.50")
    assert (await client.delete(f"/api/v2/products/{deleted}")).status_code == 204

    for product_id in (str(uuid.uuid4()), deleted):
        response = await client.get(sales_of(product_id))
        assert_problem(response, 404, "common.not_found")


async def test_a_malformed_id_is_a_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(sales_of("not-a-uuid")), 422, "common.validation_failed")


async def test_another_tenant_s_product_is_a_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    ours = await product(client, f"OURS-{uuid.uuid4().hex[:6].upper()}", "2.50")
    async with connect(app) as theirs:
        theirs.headers.update(await sign_up(theirs, tenant="globex"))
        assert_problem(await theirs.get(sales_of(ours)), 404, "common.not_found")


async def test_reading_sales_needs_products_read(app: FastAPI, client: httpx.AsyncClient) -> None:
    product_id = await product(client, f"PERM-{uuid.uuid4().hex[:6].upper()}", "2.50")
    email = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    added = await client.post("/api/v2/auth/users", json={"email": email, "password": ADMIN_PASSWORD, "roles": []})
    assert added.status_code == 201, added.text
    nobody = await log_in(client, tenant="default", email=email, password=ADMIN_PASSWORD)
    viewer_email = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    body = {"email": viewer_email, "password": ADMIN_PASSWORD, "roles": ["viewer"]}
    assert (await client.post("/api/v2/auth/users", json=body)).status_code == 201
    viewer = await log_in(client, tenant="default", email=viewer_email, password=ADMIN_PASSWORD)

    async with connect(app) as anonymous:
        refused = await anonymous.get(sales_of(product_id), headers={"X-Tenant-ID": "default"})
    assert_problem(refused, 401, "access.authentication_required")
    assert_problem(await client.get(sales_of(product_id), headers=nobody), 403, "access.permission_denied")
    assert (await client.get(sales_of(product_id), headers=viewer)).status_code == 200


async def test_the_route_is_documented_in_v2_only(client: httpx.AsyncClient) -> None:
    v2 = (await client.get("/api/v2/openapi.json")).json()
    v1 = (await client.get("/api/v1/openapi.json")).json()

    operation = v2["paths"]["/products/{product_id}/sales"]["get"]
    assert operation["security"]
    assert {"200", "401", "403", "404", "422"} <= set(operation["responses"])
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "units_net" in v2["components"]["schemas"]["ProductSalesOut"]["properties"]
    assert "ProductSalesOut" in schema
    assert "/products/{product_id}/sales" not in v1["paths"]
