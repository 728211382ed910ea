"""The reference service end to end over HTTP (in process, SQLite in a temp dir, migrated at start-up)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from apibase.testing.roundtrip import assert_resources_round_trip
from apibase.testing.service import log_in, service_settings, sign_up
from shop.main import create_app

pytestmark = pytest.mark.unit

PRODUCT = {"sku": "GEAR-001", "name": "Gear", "price": "9.99", "currency": "EUR", "stock": 5}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service_settings(tmp_path / "service.db"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        http.headers.update(await sign_up(http))
        yield http


async def product(client: httpx.AsyncClient, **changes: object) -> dict[str, object]:
    response = await client.post("/api/v1/products", json={**PRODUCT, **changes})
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()["data"]
    return created


async def order(client: httpx.AsyncClient, product_id: object, quantity: int = 2) -> httpx.Response:
    body = {"customer_email": "ada@example.com", "lines": [{"product_id": product_id, "quantity": quantity}]}
    return await client.post("/api/v1/orders", json=body)


# -- health ---------------------------------------------------------------------------------------------------------
async def test_health_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/health/startup")).status_code == 200
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["status"] == "ok"


# -- products, v1 and v2 --------------------------------------------------------------------------------------------
async def test_product_crud_round_trip_v1(client: httpx.AsyncClient) -> None:
    created = await product(client)
    url = f"/api/v1/products/{created['id']}"
    fetched = await client.get(url)
    assert fetched.json()["data"] == created
    patched = await client.patch(url, json={"price": "12.50"}, headers={"If-Match": fetched.headers["etag"]})
    assert patched.status_code == 200
    assert patched.json()["data"]["price"] == "12.50"
    listed = (await client.get("/api/v1/products", params={"price__gte": "10"})).json()
    assert [item["sku"] for item in listed["items"]] == ["GEAR-001"]
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 404


async def test_a_product_records_who_created_and_who_changed_it(client: httpx.AsyncClient) -> None:
    """v2 shows the caller's subject; v1's frozen body does not, but the same product carries it."""
    caller = (await client.get("/api/v2/auth/me")).json()["data"]["id"]
    body = {"sku": "GEAR-001", "name": "Gear", "price": {"amount": "9.99", "currency": "EUR"}}
    created = await client.post("/api/v2/products", json=body)
    assert created.status_code == 201, created.text
    url = f"/api/v2/products/{created.json()['data']['id']}"
    email, password = "grace@example.com", "correct horse battery"
    added = await client.post("/api/v2/auth/users", json={"email": email, "password": password, "roles": ["editor"]})
    assert added.status_code == 201, added.text
    editor = await log_in(client, tenant="default", email=email, password=password)

    edited = await client.patch(url, json={"stock": 7}, headers=editor)
    stored = (await client.get(url)).json()["data"]
    v1 = (await client.get(url.replace("/v2/", "/v1/"))).json()["data"]

    assert (created.json()["data"]["created_by"], created.json()["data"]["updated_by"]) == (caller, caller)
    assert edited.status_code == 200, edited.text
    assert (stored["created_by"], stored["updated_by"]) == (caller, added.json()["data"]["id"])
    assert "created_by" not in v1
    assert "updated_by" not in v1


async def test_an_order_changes_the_products_stock_as_its_caller(client: httpx.AsyncClient) -> None:
    body = {"sku": "GEAR-001", "name": "Gear", "price": {"amount": "9.99", "currency": "EUR"}, "stock": 5}
    created = (await client.post("/api/v2/products", json=body)).json()["data"]
    email, password = "grace@example.com", "correct horse battery"
    added = await client.post("/api/v2/auth/users", json={"email": email, "password": password, "roles": ["editor"]})
    editor = await log_in(client, tenant="default", email=email, password=password)
    order = {"customer_email": "c@example.com", "lines": [{"product_id": created["id"], "quantity": 2}]}

    placed = await client.post("/api/v2/orders", json=order, headers=editor)

    assert placed.status_code == 201, placed.text
    stored = (await client.get(f"/api/v2/products/{created['id']}")).json()["data"]
    assert (stored["stock"], stored["updated_by"]) == (3, added.json()["data"]["id"])


async def test_duplicate_sku_is_a_409_with_a_catalog_code(client: httpx.AsyncClient) -> None:
    await product(client)
    duplicate = await client.post("/api/v1/products", json=PRODUCT)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "catalog.duplicate_sku"
    assert (await client.get("/api/v1/products")).json()["total"] == 1


async def test_the_sku_of_a_deleted_product_can_be_used_again(client: httpx.AsyncClient) -> None:
    deleted = await product(client)
    assert (await client.delete(f"/api/v1/products/{deleted['id']}")).status_code == 204
    assert (await client.get("/api/v1/products", params={"sku": PRODUCT["sku"]})).json()["total"] == 0

    again = await client.post("/api/v1/products", json=PRODUCT)

    assert again.status_code == 201, again.text
    assert again.json()["data"]["id"] != deleted["id"]
    assert (await client.post("/api/v1/products", json=PRODUCT)).status_code == 409


async def test_v1_is_deprecated_and_v2_has_its_own_shape_and_cursor_pages(client: httpx.AsyncClient) -> None:
    for index in range(3):
        await product(client, sku=f"SKU-{index}", name=f"P{index}")
    v1 = await client.get("/api/v1/products", params={"limit": 2})
    assert v1.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert v1.headers["deprecation"].startswith("@")
    assert 'rel="successor-version"' in v1.headers["link"]
    assert v1.json()["total"] == 3
    first = await client.get("/api/v2/products", params={"limit": 2, "sort": "name"})
    assert "sunset" not in first.headers
    body = first.json()
    assert body["items"][0]["price"] == {"amount": "9.99", "currency": "EUR"}
    assert "total" not in body
    rest = (
        await client.get("/api/v2/products", params={"limit": 2, "sort": "name", "cursor": body["next_cursor"]})
    ).json()
    assert [item["name"] for item in body["items"] + rest["items"]] == ["P0", "P1", "P2"]
    assert rest["has_next"] is False


async def test_what_v2_shows_it_takes_back(client: httpx.AsyncClient) -> None:
    """GET, change a field, PUT the body back: 200, for every v2 resource with a PUT (new ones included)."""
    assert await assert_resources_round_trip(client, "/api/v2/openapi.json") == ["/products"]


async def test_v2_money_is_one_object_in_and_out(client: httpx.AsyncClient) -> None:
    body = {
        "sku": "GEAR-001",
        "name": "Gear",
        "description": "<b>big</b>",
        "price": {"amount": "9.99", "currency": "USD"},
    }
    created = await client.post("/api/v2/products", json={**body, "stock": 5})
    assert created.status_code == 201, created.text
    product = created.json()["data"]
    assert (product["price"], product["description"]) == ({"amount": "9.99", "currency": "USD"}, "<b>big</b>")
    url = f"/api/v2/products/{product['id']}"
    patched = await client.patch(url, json={"price": {"amount": "12.50", "currency": "USD"}})
    assert patched.json()["data"]["price"] == {"amount": "12.50", "currency": "USD"}
    for flat in ({"price": "9.99"}, {"price": "9.99", "currency": "USD"}, {"price": {"amount": "9.99"}}):
        assert (await client.patch(url, json=flat)).status_code == 422
        assert (await client.post("/api/v2/products", json={**body, "sku": "GEAR-002", **flat})).status_code == 422
    v1 = (await client.get(f"/api/v1/products/{product['id']}")).json()["data"]
    assert (v1["price"], v1["currency"]) == ("12.50", "USD")

    placed = await client.post(
        "/api/v2/orders",
        json={"customer_email": "ada@example.com", "lines": [{"product_id": product["id"], "quantity": 2}]},
    )

    assert placed.status_code == 201, placed.text
    order = placed.json()["data"]
    assert order["total"] == {"amount": "25.00", "currency": "USD"}
    [line] = order["lines"]
    assert (line["unit_price"], line["subtotal"]) == (
        {"amount": "12.50", "currency": "USD"},
        {"amount": "25.00", "currency": "USD"},
    )
    assert (await client.get(f"/api/v2/orders/{order['id']}")).json()["data"] == order
    assert (await client.get("/api/v2/orders")).json()["items"] == [order]
    v1_order = (await client.get(f"/api/v1/orders/{order['id']}")).json()["data"]
    assert (v1_order["total"], v1_order["lines"][0]["unit_price"]) == ("25.00", "12.50")


async def test_the_v2_schemas_show_money_as_one_shape(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/api/v2/openapi.json")).json()["components"]["schemas"]
    money_fields = {
        (name, field)
        for name, schema in schemas.items()
        if name.startswith(("Product", "Order", "Money"))
        for field, item in schema.get("properties", {}).items()
        if field in {"price", "unit_price", "subtotal", "total", "amount"}
    }
    assert {("ProductOutV2", "price"), ("OrderOutV2", "total"), ("OrderLineOutV2", "subtotal")} <= money_fields
    for name, field in money_fields:
        item = schemas[name]["properties"][field]
        if field == "amount":
            assert name in {"MoneyIn", "MoneyOut"}, name
            continue
        refs = {item.get("$ref")} | {member.get("$ref") for member in item.get("anyOf", [])}
        assert refs & {"#/components/schemas/MoneyIn", "#/components/schemas/MoneyOut"}, (name, field, item)


async def test_each_version_serves_its_own_openapi_and_docs(client: httpx.AsyncClient) -> None:
    for version in ("v1", "v2"):
        spec = (await client.get(f"/api/{version}/openapi.json")).json()
        assert spec["openapi"].startswith("3.1")
        assert spec["servers"] == [{"url": f"/api/{version}"}]
        assert "/products" in spec["paths"]
        assert "/orders/{order_id}/cancel" in spec["paths"]
        assert (await client.get(f"/api/{version}/docs")).status_code == 200
        assert (await client.get(f"/api/{version}/redoc")).status_code == 200
    v1 = (await client.get("/api/v1/openapi.json")).json()
    v2 = (await client.get("/api/v2/openapi.json")).json()
    assert v1["paths"]["/products"]["get"]["deprecated"] is True
    assert "cursor" in {p["name"] for p in v2["paths"]["/products"]["get"]["parameters"]}


# -- orders ---------------------------------------------------------------------------------------------------------
async def test_order_lifecycle_with_stock_and_etags(client: httpx.AsyncClient) -> None:
    gear = await product(client, stock=5)
    placed = await order(client, gear["id"], quantity=2)
    assert placed.status_code == 201
    data = placed.json()["data"]
    assert (data["status"], data["total"]) == ("placed", "19.98")
    assert placed.headers["location"].endswith(data["id"])
    assert (await client.get(f"/api/v1/products/{gear['id']}")).json()["data"]["stock"] == 3
    url = f"/api/v1/orders/{data['id']}"
    etag = placed.headers["etag"]
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 304
    paid = await client.post(f"{url}/pay", headers={"If-Match": etag})
    assert paid.json()["data"]["status"] == "paid"
    stale = await client.post(f"{url}/ship", headers={"If-Match": etag})
    assert stale.status_code == 412
    shipped = await client.post(f"{url}/ship", headers={"If-Match": paid.headers["etag"]})
    assert shipped.json()["data"]["status"] == "shipped"
    refused = await client.post(f"{url}/cancel", json={"reason": "changed my mind"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "orders.already_shipped"
    assert "return it instead" in refused.json()["detail"]
    assert refused.json()["alternative"] == "return"
    listed = (await client.get("/api/v1/orders", params={"status": "shipped"})).json()
    assert [item["id"] for item in listed["items"]] == [data["id"]]


async def test_cancelling_restores_stock(client: httpx.AsyncClient) -> None:
    gear = await product(client, stock=5)
    placed = (await order(client, gear["id"], quantity=4)).json()["data"]
    cancelled = await client.post(f"/api/v1/orders/{placed['id']}/cancel", json={"reason": "duplicate"})
    assert cancelled.json()["data"]["status"] == "cancelled"
    assert (await client.get(f"/api/v1/products/{gear['id']}")).json()["data"]["stock"] == 5


async def test_a_shipped_order_is_returned_and_its_stock_comes_back(client: httpx.AsyncClient) -> None:
    gear = await product(client, stock=5)
    placed = await client.post(
        "/api/v2/orders",
        json={"customer_email": "ada@example.com", "lines": [{"product_id": gear["id"], "quantity": 3}]},
    )
    url = f"/api/v2/orders/{placed.json()['data']['id']}"
    early = await client.post(f"{url}/return", json={"reason": "not yet"})
    assert (early.status_code, early.headers["content-type"]) == (409, "application/problem+json")
    assert (early.json()["code"], early.json()["alternative"]) == ("orders.not_returnable", "cancel")
    await client.post(f"{url}/pay")
    shipped = await client.post(f"{url}/ship")
    stale = await client.post(f"{url}/return", json={"reason": "broken"}, headers={"If-Match": placed.headers["etag"]})
    assert (stale.status_code, stale.json()["code"]) == (412, "common.precondition_failed")
    assert (await client.get(f"/api/v1/products/{gear['id']}")).json()["data"]["stock"] == 2

    returned = await client.post(
        f"{url}/return", json={"reason": "broken"}, headers={"If-Match": shipped.headers["etag"]}
    )

    assert returned.status_code == 200, returned.text
    order = returned.json()["data"]
    assert (order["status"], order["return_reason"], order["version"]) == ("returned", "broken", 4)
    assert returned.headers["etag"] not in {shipped.headers["etag"], placed.headers["etag"]}
    assert (await client.get(f"/api/v1/products/{gear['id']}")).json()["data"]["stock"] == 5
    again = await client.post(f"{url}/return", json={"reason": "twice"})
    assert (again.status_code, again.json()["code"]) == (409, "orders.invalid_transition")
    assert (await client.post(f"{url}/return", json={"reason": ""})).status_code == 422
    assert (await client.get("/api/v2/orders", params={"status": "returned"})).json()["items"] == [order]
    assert (await client.post(url.replace("v2", "v1") + "/return", json={"reason": "v1"})).status_code == 404


@pytest.mark.parametrize(
    ("lines", "status", "code"),
    [
        ([], 422, "common.validation_failed"),
        ([{"product_id": "PRODUCT", "quantity": 0}], 422, "common.validation_failed"),
        (
            [{"product_id": "PRODUCT", "quantity": 1}, {"product_id": "PRODUCT", "quantity": 1}],
            422,
            "orders.duplicate_line",
        ),
        ([{"product_id": "PRODUCT", "quantity": 99}], 409, "catalog.insufficient_stock"),
        ([{"product_id": "00000000-0000-4000-8000-000000000000", "quantity": 1}], 409, "orders.unknown_product"),
    ],
)
async def test_order_invariants_are_problems_and_change_nothing(
    client: httpx.AsyncClient, lines: list[dict[str, object]], status: int, code: str
) -> None:
    gear = await product(client, stock=5)
    for line in lines:
        if line["product_id"] == "PRODUCT":
            line["product_id"] = gear["id"]
    response = await client.post("/api/v1/orders", json={"customer_email": "ada@example.com", "lines": lines})
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"/api/v1/products/{gear['id']}")).json()["data"]["stock"] == 5
    assert (await client.get("/api/v1/orders")).json()["total"] == 0


# -- the HTTP error classes on the real service ---------------------------------------------------------------------
async def test_transport_level_errors_are_problems(client: httpx.AsyncClient) -> None:
    cases = [
        (await client.get("/api/v1/nothing-here"), 404),
        (await client.put("/api/v1/products"), 405),
        (await client.post("/api/v1/products", content=b"sku=x", headers={"content-type": "text/plain"}), 415),
        (await client.post("/api/v1/products", content=b'{"sku": ', headers={"content-type": "application/json"}), 400),
        (await client.post("/api/v1/products", json={**PRODUCT, "admin": True}), 422),
        (await client.post("/api/v1/products", json={**PRODUCT, "stock": 10**30}), 422),
        (await client.post("/api/v1/products", json={**PRODUCT, "name": "x" * 2_000_000}), 413),
        (await client.get("/api/v1/products", params={"limit": 10**9}), 422),
        (await client.get("/api/v1/products", params={"sort": "password"}), 422),
        (await client.get("/api/v1/products", params={"stock__lte": 10**30}), 422),
        (await client.get("/api/v1/products", params={"price": "-3.5e96"}), 422),
        (await client.get("/api/v1/products", params={"updated_at__lte": "0.5"}), 422),
        (await client.patch(f"/api/v1/products/{uuid.uuid4()}", json={"stock": None}), 422),
        (await client.post("/api/v1/products", json={**PRODUCT, "active": 0}), 422),
        (await client.post("/api/v1/products", json={**PRODUCT, "stock": "5"}), 422),
        (await client.get("/api/v2/products", params={"cursor": "forged.cursor"}), 400),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["request_id"] == response.headers["x-request-id"]
    assert (await client.get("/api/v1/products")).json()["total"] == 0


async def test_request_ids_are_echoed_when_valid_and_replaced_when_not(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith junk"})
    assert replaced.headers["x-request-id"] != "bad id\twith junk"


async def test_large_lists_are_compressed(client: httpx.AsyncClient) -> None:
    for index in range(20):
        await product(client, sku=f"SKU-{index:03d}", description="x" * 200)
    brotli = await client.get("/api/v1/products", headers={"Accept-Encoding": "br"})
    assert brotli.headers["content-encoding"] == "br"
    gzip = await client.get("/api/v1/products", headers={"Accept-Encoding": "gzip"})
    assert gzip.headers["content-encoding"] == "gzip"
    assert gzip.json()["total"] == 20


# -- metrics --------------------------------------------------------------------------------------------------------
async def test_metrics_count_requests_per_route_template_and_business_events(client: httpx.AsyncClient) -> None:
    created = await product(client)
    assert (await client.get(f"/api/v2/products/{created['id']}")).status_code == 200
    assert (await order(client, created["id"])).status_code == 201

    exposition = (await client.get("/metrics")).text

    assert 'http_requests_total{method="GET",route="/api/v2/products/{entity_id}",status="200"} 1.0' in exposition
    assert "orders_placed_total 1.0" in exposition
    assert "products_created_total 1.0" in exposition
    assert 'login_failures_total{reason="auth.invalid_credentials"}' not in exposition
    assert str(created["id"]) not in exposition  # labels are templates, never raw paths
