"""The orders API and the encrypted shipping address: plaintext over HTTP, ciphertext in the database."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from apibase.core.settings import Environment
from apibase.testing.service import service_settings, sign_up
from shop.main import create_app

pytestmark = pytest.mark.unit

ADDRESS = "Ada Lovelace\n12 St James's Square\nLondon SW1Y 4JH"
PRODUCT = {"sku": "GEAR-001", "name": "Gear", "price": "9.99", "currency": "EUR", "stock": 50}
KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "service.db"


@pytest.fixture
async def client(database: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The service with a configured key ``k1``, so the test also proves the ring comes from settings."""
    app = create_app(service_settings(database, encryption={"keys": {"k1": KEY}}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        http.headers.update(await sign_up(http))
        yield http


async def place(
    client: httpx.AsyncClient, *, headers: dict[str, str] | None = None, **fields: object
) -> httpx.Response:
    created = await client.post("/api/v1/products", json=PRODUCT)
    assert created.status_code == 201, created.text
    body = {"customer_email": "ada@example.com", "lines": [{"product_id": created.json()["data"]["id"], "quantity": 1}]}
    return await client.post("/api/v1/orders", json={**body, **fields}, headers=headers)


async def sql(database: Path, statement: str, **parameters: object) -> list[tuple[object, ...]]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), parameters)
            return [tuple(row) for row in result.all()] if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_the_address_is_plaintext_over_http_and_ciphertext_in_the_database(
    client: httpx.AsyncClient, database: Path
) -> None:
    placed = await place(client, shipping_address=ADDRESS)
    assert placed.status_code == 201, placed.text
    order = placed.json()["data"]

    fetched = await client.get(f"/api/v1/orders/{order['id']}")
    listed = await client.get("/api/v1/orders")
    paid = await client.post(f"/api/v1/orders/{order['id']}/pay")
    [(stored,)] = await sql(database, "SELECT shipping_address FROM orders")

    assert order["shipping_address"] == ADDRESS
    assert fetched.json()["data"]["shipping_address"] == ADDRESS
    assert [item["shipping_address"] for item in listed.json()["items"]] == [ADDRESS]
    assert paid.json()["data"]["shipping_address"] == ADDRESS
    assert isinstance(stored, str)
    assert stored.startswith("v1.k1.")
    assert not any(word in stored for word in ("Lovelace", "James", "London", "SW1Y"))


async def test_an_order_without_an_address(client: httpx.AsyncClient, database: Path) -> None:
    placed = await place(client)

    assert placed.status_code == 201
    assert placed.json()["data"]["shipping_address"] is None
    assert await sql(database, "SELECT shipping_address FROM orders") == [(None,)]


@pytest.mark.parametrize("address", ["", "x" * 501, 42])
async def test_an_invalid_address_is_a_422(client: httpx.AsyncClient, address: object) -> None:
    response = await place(client, shipping_address=address)

    assert response.status_code == 422
    assert (await client.get("/api/v1/orders")).json()["total"] == 0


async def test_orders_cannot_be_sorted_by_the_address(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/orders", params={"sort": "shipping_address"})

    assert response.status_code == 422


async def test_a_tampered_ciphertext_is_a_500_and_never_shows_a_value(
    client: httpx.AsyncClient, database: Path
) -> None:
    order = (await place(client, shipping_address=ADDRESS)).json()["data"]
    [(stored,)] = await sql(database, "SELECT shipping_address FROM orders")
    assert isinstance(stored, str)
    flipped = stored[:-2] + ("B" if stored[-2] == "A" else "A") + stored[-1]
    await sql(database, "UPDATE orders SET shipping_address = :value", value=flipped)

    response = await client.get(f"/api/v1/orders/{order['id']}")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "crypto.decryption_failed"
    assert "Lovelace" not in response.text
    assert flipped not in response.text


def test_production_without_encryption_keys_refuses_to_start(tmp_path: Path) -> None:
    settings = service_settings(
        tmp_path / "prod.db",
        environment=Environment.PRODUCTION,
        security={"secret_key": "a-production-secret-that-is-long-enough"},
    )

    with pytest.raises(ValueError, match="APIBASE_ENCRYPTION__KEYS"):
        create_app(settings)


async def test_a_command_carries_the_caller_and_the_flows_correlation_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The endpoint builds the command without either; the bus fills both from the request context."""
    caplog.set_level(logging.INFO, logger="apibase.application.cqrs")
    token = client.headers["Authorization"].removeprefix("Bearer ")
    payload = token.split(".")[1]
    subject = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]

    placed = await place(client, headers={"X-Correlation-ID": "checkout-42"})

    assert placed.status_code == 201, placed.text
    [finished] = [record for record in caplog.records if record.getMessage().startswith("PlaceOrder succeeded")]
    assert finished.__dict__["correlation_id"] == "checkout-42"
    assert finished.__dict__["user_id"] == subject
    assert finished.__dict__["tenant_id"] == "default"
