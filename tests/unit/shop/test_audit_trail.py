"""The reference service's audit trail: a create's entry names its caller, resource and request, and requests that
change nothing (refused, rolled back) are still recorded with how they ended."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from apibase.testing.service import service_settings, sign_up
from shop.main import create_app

pytestmark = pytest.mark.unit

PRODUCT = {"sku": "GEAR-001", "name": "Gear", "price": "9.99", "currency": "EUR", "stock": 5}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = create_app(service_settings(tmp_path / "service.db"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        http.headers.update(await sign_up(http))
        yield http


async def trail(client: httpx.AsyncClient) -> list[dict[str, object]]:
    """The default tenant's entries, oldest first."""
    items: list[dict[str, object]] = (await client.get("/api/v2/audit", params={"limit": 200})).json()["items"]
    return items[::-1]


async def test_a_create_is_recorded_with_its_caller_resource_and_request(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/products", json=PRODUCT, headers={"X-Request-ID": "create-1"})

    assert created.status_code == 201, created.text
    entry = (await trail(client))[-1]
    me = (await client.get("/api/v2/auth/me")).json()["data"]
    assert {key: entry[key] for key in ("action", "resource_type", "resource_id", "outcome", "request_id")} == {
        "action": "POST /api/v1/products",
        "resource_type": "products",
        "resource_id": created.headers["Location"].rpartition("/")[2],
        "outcome": 201,
        "request_id": "create-1",
    }
    assert (entry["actor"], entry["client_ip"]) == (me["id"], "127.0.0.1")


async def test_requests_that_change_nothing_are_recorded_with_their_outcome(client: httpx.AsyncClient) -> None:
    product = (await client.post("/api/v1/products", json=PRODUCT)).json()["data"]
    duplicate = await client.post("/api/v1/products", json=PRODUCT)  # rolled back by the unique index
    invalid = await client.post("/api/v1/products", json={**PRODUCT, "sku": "?"})
    anonymous = await client.delete(f"/api/v1/products/{product['id']}", headers={"Authorization": ""})
    deleted = await client.delete(f"/api/v1/products/{product['id']}")

    assert [r.status_code for r in (duplicate, invalid, anonymous, deleted)] == [409, 422, 401, 204]
    entries = [(e["action"], e["resource_id"], e["outcome"]) for e in await trail(client)]
    assert entries[-5:] == [
        ("POST /api/v1/products", product["id"], 201),
        ("POST /api/v1/products", None, 409),
        ("POST /api/v1/products", None, 422),
        (f"DELETE /api/v1/products/{product['id']}", None, 401),
        ("DELETE /api/v1/products/{entity_id}", product["id"], 204),
    ]
