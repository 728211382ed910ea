"""Cross-tenant access: tenant B's admin, with full rights in B, reaches for tenant A's rows by id.

Every attempt must read as "no such row" (404, never 403, so existence does not leak), lists show nothing of
A, and a token never crosses tenants by naming another one in ``X-Tenant-ID``. A's data is read back by A's
admin at the end of each test.
"""

from __future__ import annotations

import httpx
import pytest

from apibase.testing.service import ADMIN_EMAIL, ADMIN_PASSWORD, sign_up

pytestmark = [pytest.mark.unit]


@pytest.fixture
async def intruder(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    """Tenant ``bravo``'s admin (same email as acme's: emails are per tenant)."""
    return await sign_up(http, tenant="bravo")


@pytest.fixture
async def victim_rows(http: httpx.AsyncClient, admin: dict[str, str], create_product) -> dict[str, object]:
    """A product and an order of tenant acme, as acme's admin saw them."""
    product = await create_product(admin)
    line = {"product_id": product["id"], "quantity": 2}
    placed = await http.post(
        "/api/v1/orders", json={"customer_email": "alice@acme.example", "lines": [line]}, headers=admin
    )
    assert placed.status_code == 201
    product = (await http.get(f"/api/v1/products/{product['id']}", headers=admin)).json()["data"]
    return {"product": product, "order": placed.json()["data"]}


async def _intact(http: httpx.AsyncClient, admin: dict[str, str], rows: dict) -> None:
    product, order = rows["product"], rows["order"]
    assert (await http.get(f"/api/v1/products/{product['id']}", headers=admin)).json()["data"] == product
    assert (await http.get(f"/api/v1/orders/{order['id']}", headers=admin)).json()["data"] == order
    assert (await http.get("/api/v1/products", headers=admin)).json()["total"] == 1
    assert (await http.get("/api/v1/orders", headers=admin)).json()["total"] == 1


def _no_victim_data(response: httpx.Response, rows: dict) -> None:
    """None of tenant A's values (the product's name and SKU, the customer's email) is in the answer."""
    secrets = (rows["product"]["name"], rows["product"]["sku"], rows["order"]["customer_email"])
    for secret in secrets:
        assert secret not in response.text


def _shape(response: httpx.Response, row_id: str) -> tuple:
    """Status, code, title and the detail with the id blanked: what would tell a real row from a missing one."""
    body = response.json()
    return response.status_code, body["code"], body["title"], body["detail"].replace(row_id, "<id>")


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_other_tenants_product_by_id_is_not_found(
    http, admin, intruder, victim_rows, expect_problem, version
) -> None:
    product_id = victim_rows["product"]["id"]
    url = f"/api/{version}/products/{product_id}"
    # Valid bodies in each version's own shape, so that only the tenant boundary can refuse them.
    price = (
        {"price": "0.01", "currency": "EUR"} if version == "v1" else {"price": {"amount": "0.01", "currency": "EUR"}}
    )
    replacement = {"sku": "PWNED", "name": "pwned", **price, "stock": 0}
    # ETags are derived from the id and version, so an attacker who knows the id can send the right one too.
    stolen_etag = {"If-Match": (await http.get(url, headers=admin)).headers["etag"]}
    attempts = [
        await http.get(url, headers=intruder),
        await http.patch(url, json={**price, "stock": 0}, headers=intruder),
        await http.patch(url, json=price, headers={**intruder, **stolen_etag}),
        await http.put(url, json=replacement, headers=intruder),
        await http.put(url, json=replacement, headers={**intruder, **stolen_etag}),
        await http.delete(url, headers=intruder),
        await http.delete(url, headers={**intruder, **stolen_etag}),
    ]
    for response in attempts:
        expect_problem(response, 404, "common.not_found")
        _no_victim_data(response, victim_rows)
    # The answer for A's real id is the answer for an id that exists nowhere.
    unknown_id = "00000000-0000-4000-8000-000000000000"
    unknown = await http.get(f"/api/{version}/products/{unknown_id}", headers=intruder)
    assert _shape(unknown, unknown_id) == _shape(attempts[0], product_id)
    await _intact(http, admin, victim_rows)


async def test_other_tenants_order_by_id_is_not_found(http, admin, intruder, victim_rows, expect_problem) -> None:
    order_id = victim_rows["order"]["id"]
    attempts = [
        await http.get(f"/api/v1/orders/{order_id}", headers=intruder),
        await http.get(f"/api/v2/orders/{order_id}", headers=intruder),
        await http.post(f"/api/v1/orders/{order_id}/pay", headers=intruder),
        await http.post(f"/api/v1/orders/{order_id}/ship", headers=intruder),
        await http.post(f"/api/v2/orders/{order_id}/cancel", json={"reason": "sabotage"}, headers=intruder),
    ]
    for response in attempts:
        expect_problem(response, 404, "common.not_found")
        _no_victim_data(response, victim_rows)
    await _intact(http, admin, victim_rows)


async def test_ordering_another_tenants_product_finds_no_product(http, admin, intruder, victim_rows) -> None:
    line = {"product_id": victim_rows["product"]["id"], "quantity": 5}
    response = await http.post(
        "/api/v1/orders", json={"customer_email": "m@b.example", "lines": [line]}, headers=intruder
    )
    assert (response.status_code, response.json()["code"]) == (409, "orders.unknown_product")
    _no_victim_data(response, victim_rows)
    await _intact(http, admin, victim_rows)


async def test_lists_show_none_of_another_tenants_rows(http, admin, intruder, victim_rows, no_leak) -> None:
    sku = victim_rows["product"]["sku"]
    lists = [
        await http.get("/api/v1/products", headers=intruder),
        await http.get("/api/v1/products", params={"sku": sku}, headers=intruder),
        await http.get("/api/v2/products", headers=intruder),
        await http.get("/api/v1/orders", headers=intruder),
        await http.get("/api/v2/orders", headers=intruder),
    ]
    for response in lists:
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []
        _no_victim_data(response, victim_rows)
        no_leak(response)
    for path in ("/api/v1/products", "/api/v1/orders"):  # naming a tenant in the query is refused, not obeyed
        refused = await http.get(path, params={"tenant": "acme", "tenant_id": "acme"}, headers=intruder)
        assert refused.status_code == 422, refused.text
        assert [error["loc"] for error in refused.json()["errors"]] == [["query", "tenant"], ["query", "tenant_id"]]
        _no_victim_data(refused, victim_rows)
        no_leak(refused)
    users = (await http.get("/api/v2/auth/users", headers=intruder)).json()["data"]
    assert [user["email"] for user in users] == [ADMIN_EMAIL]
    acme_ids = {user["id"] for user in (await http.get("/api/v2/auth/users", headers=admin)).json()["data"]}
    assert not acme_ids & {user["id"] for user in users}
    audit = (await http.get("/api/v2/audit", headers=intruder)).json()["items"]
    assert all("orders" not in entry["action"] for entry in audit)
    assert all(
        entry["resource_id"] not in (victim_rows["product"]["id"], victim_rows["order"]["id"]) for entry in audit
    )
    await _intact(http, admin, victim_rows)


async def test_a_tenant_field_in_the_body_cannot_write_into_another_tenant(
    http, admin, intruder, victim_rows, expect_problem
) -> None:
    for field in ("tenant", "tenant_id"):
        body = {"sku": "PLANTED", "name": "planted", "price": "1.00", "currency": "EUR", "stock": 1, field: "acme"}
        expect_problem(
            await http.post("/api/v1/products", json=body, headers=intruder), 422, "common.validation_failed"
        )
    assert (await http.get("/api/v1/products", headers=intruder)).json()["total"] == 0
    await _intact(http, admin, victim_rows)


async def test_other_tenants_user_cannot_be_given_roles(http, admin, intruder, expect_problem) -> None:
    acme_admin = (await http.get("/api/v2/auth/me", headers=admin)).json()["data"]
    response = await http.put(
        f"/api/v2/auth/users/{acme_admin['id']}/roles", json={"roles": ["viewer"]}, headers=intruder
    )
    expect_problem(response, 404, "identity.user_not_found")
    assert (await http.get("/api/v2/auth/me", headers=admin)).json()["data"]["roles"] == ["admin"]


async def test_token_naming_another_tenant_in_the_header_is_refused(
    http, admin, intruder, victim_rows, expect_problem
) -> None:
    product_url = f"/api/v1/products/{victim_rows['product']['id']}"
    for method, path in (
        ("GET", "/api/v1/products"),
        ("GET", product_url),
        ("DELETE", product_url),
        ("GET", "/api/v2/auth/me"),
        ("GET", "/api/v2/auth/users"),
        ("GET", "/api/v2/audit"),
    ):
        response = await http.request(method, path, headers={**intruder, "X-Tenant-ID": "acme"})
        expect_problem(response, 403, "tenancy.tenant_mismatch")
        _no_victim_data(response, victim_rows)
    await _intact(http, admin, victim_rows)


async def test_api_key_naming_another_tenant_in_the_header_is_refused(
    http, admin, intruder, victim_rows, expect_problem
) -> None:
    secret = (await http.post("/api/v2/auth/api-keys", json={"name": "b"}, headers=intruder)).json()["data"]["secret"]
    deleted = await http.delete(
        f"/api/v1/products/{victim_rows['product']['id']}", headers={"X-API-Key": secret, "X-Tenant-ID": "acme"}
    )
    expect_problem(deleted, 403, "tenancy.tenant_mismatch", secrets=[secret])
    await _intact(http, admin, victim_rows)


async def test_sign_up_cannot_take_over_an_existing_tenant(http, admin, victim_rows, expect_problem) -> None:
    for email in ("mallory@example.com", ADMIN_EMAIL):
        response = await http.post(
            "/api/v2/auth/register",
            json={"email": email, "password": "mallory's long password"},
            headers={"X-Tenant-ID": "acme"},
        )
        expect_problem(response, 403, "identity.tenant_closed")
    login = await http.post(
        "/api/v2/auth/login",
        json={"email": "mallory@example.com", "password": "mallory's long password"},
        headers={"X-Tenant-ID": "acme"},
    )
    assert login.status_code == 401
    owner = await http.post(
        "/api/v2/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, headers={"X-Tenant-ID": "acme"}
    )
    assert owner.status_code == 200
    await _intact(http, admin, victim_rows)


async def test_credentials_do_not_work_in_another_tenant(http, admin, expect_problem) -> None:
    """acme's admin password, sent for a tenant where that email has no account."""
    await sign_up(http, tenant="bravo", email="someone@bravo.example")
    response = await http.post(
        "/api/v2/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, headers={"X-Tenant-ID": "bravo"}
    )
    expect_problem(response, 401, "auth.invalid_credentials", secrets=[ADMIN_PASSWORD])


async def test_idempotency_key_of_another_tenant_does_not_replay_its_response(
    http, admin, intruder, expect_problem
) -> None:
    key = {"Idempotency-Key": "shared-key-123"}
    body = {"sku": "SAME-SKU", "name": "Tenant A secret gear", "price": "9.99", "currency": "EUR", "stock": 5}
    first = await http.post("/api/v1/products", json=body, headers={**admin, **key})
    assert (first.status_code, first.headers["idempotent-replayed"]) == (201, "false")
    second = await http.post("/api/v1/products", json=body, headers={**intruder, **key})
    assert (second.status_code, second.headers["idempotent-replayed"]) == (201, "false")
    assert second.json()["data"]["id"] != first.json()["data"]["id"]
    assert (await http.get("/api/v1/products", headers=admin)).json()["total"] == 1
    assert (await http.get("/api/v1/products", headers=intruder)).json()["total"] == 1


async def test_other_tenants_product_image_cannot_be_read_or_overwritten(
    http, admin, intruder, victim_rows, expect_problem
) -> None:
    url = f"/api/v1/products/{victim_rows['product']['id']}/image"
    original = b"%PDF-1.4\n% tenant A's private sheet\n%%EOF\n"
    stored = await http.put(url, content=original, headers={**admin, "Content-Type": "application/pdf"})
    assert stored.status_code == 200, stored.text
    overwrite = await http.put(
        url, content=b"%PDF-1.4\n% pwned\n%%EOF\n", headers={**intruder, "Content-Type": "application/pdf"}
    )
    expect_problem(overwrite, 404, "common.not_found")
    read = await http.get(url, headers=intruder)
    expect_problem(read, 404, "common.not_found")
    assert b"private" not in read.content
    assert (await http.get(url, headers=admin)).content == original
