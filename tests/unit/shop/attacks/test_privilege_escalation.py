"""Privilege escalation: a signed-in user reaching past their roles is a 403 (or 404/409) and changes nothing.

The permission comes from verified credentials only: client-sent role or permission headers, another user's
key ids and an admin's own role assignment are all tried, and every time the stored state is read back as its
owner afterwards.
"""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.unit]

NEW_PRODUCT = {"sku": "VIEWER-1", "name": "x", "price": "1.00", "currency": "EUR", "stock": 1}
FORGED_GRANTS = {
    "X-Roles": "admin",
    "X-Role": "admin",
    "X-Permissions": "products:write,products:delete,users:manage,audit:read",
    "X-User-Roles": "admin",
    "X-Forwarded-User": "admin@example.com",
    "X-Admin": "true",
}


async def _state(http: httpx.AsyncClient, admin: dict[str, str]) -> tuple[list, list]:
    """Products and users of tenant acme, as its admin sees them."""
    products = await http.get("/api/v1/products", headers=admin)
    users = await http.get("/api/v2/auth/users", headers=admin)
    assert (products.status_code, users.status_code) == (200, 200)
    return products.json()["items"], sorted((user["email"], user["roles"]) for user in users.json()["data"])


@pytest.mark.parametrize("extra_headers", [{}, FORGED_GRANTS], ids=["plain", "with-forged-role-headers"])
async def test_viewer_cannot_create_change_or_delete_products(
    http, admin, viewer, create_product, expect_problem, extra_headers
) -> None:
    product = await create_product(admin)
    url = f"/api/v1/products/{product['id']}"
    etag = (await http.get(url, headers=admin)).headers["etag"]
    before = await _state(http, admin)
    headers = {**viewer[1], **extra_headers}
    attempts = [
        await http.post("/api/v1/products", json=NEW_PRODUCT, headers=headers),
        await http.post(
            "/api/v2/products",
            json={"sku": "VIEWER-2", "name": "x", "price": {"amount": "1.00", "currency": "EUR"}, "stock": 1},
            headers=headers,
        ),
        await http.patch(url, json={"price": "0.01"}, headers={**headers, "If-Match": etag}),
        await http.put(
            url,
            json={"sku": "SECRET-A-001", "name": "pwned", "price": "0.01", "currency": "EUR", "stock": 0},
            headers={**headers, "If-Match": etag},
        ),
        await http.delete(url, headers={**headers, "If-Match": etag}),
        await http.delete(f"/api/v2/products/{product['id']}", headers=headers),
    ]
    for response in attempts:
        body = expect_problem(response, 403, "access.permission_denied")
        assert body["missing"]
        assert set(body["missing"]) <= {"products:write", "products:delete"}
    assert await _state(http, admin) == before
    assert (await http.get(url, headers=admin)).json()["data"] == product


async def test_viewer_cannot_place_or_change_orders(http, admin, viewer, create_product, expect_problem) -> None:
    product = await create_product(admin)
    line = {"customer_email": "eve@example.com", "lines": [{"product_id": product["id"], "quantity": 5}]}
    placed = await http.post("/api/v1/orders", json=line, headers={**viewer[1], **FORGED_GRANTS})
    expect_problem(placed, 403, "access.permission_denied")
    order = await http.post(
        "/api/v1/orders", json={**line, "lines": [{**line["lines"][0], "quantity": 1}]}, headers=admin
    )
    assert order.status_code == 201
    order_id = order.json()["data"]["id"]
    for version, action in (("v1", "pay"), ("v1", "ship"), ("v1", "cancel"), ("v2", "return")):
        body = {"reason": "viewer says so"} if action in {"cancel", "return"} else None
        response = await http.post(f"/api/{version}/orders/{order_id}/{action}", json=body, headers=viewer[1])
        expect_problem(response, 403, "access.permission_denied")
    assert (await http.get(f"/api/v1/orders/{order_id}", headers=admin)).json()["data"]["status"] == "placed"
    assert (await http.get(f"/api/v1/products/{product['id']}", headers=admin)).json()["data"]["stock"] == 4


async def test_viewer_cannot_add_users_or_list_them(http, admin, viewer, expect_problem) -> None:
    before = await _state(http, admin)
    for headers in (viewer[1], {**viewer[1], **FORGED_GRANTS}):
        added = await http.post(
            "/api/v2/auth/users",
            json={"email": "sleeper@example.com", "password": "sleeper's long password", "roles": ["admin"]},
            headers=headers,
        )
        expect_problem(added, 403, "access.permission_denied")
        expect_problem(await http.get("/api/v2/auth/users", headers=headers), 403, "access.permission_denied")
    assert await _state(http, admin) == before
    login = await http.post(
        "/api/v2/auth/login",
        json={"email": "sleeper@example.com", "password": "sleeper's long password"},
        headers={"X-Tenant-ID": "acme"},
    )
    assert login.status_code == 401


async def test_viewer_cannot_change_its_own_roles(http, admin, viewer, expect_problem) -> None:
    viewer_id, headers = viewer
    for roles in (["admin"], ["editor"], ["viewer", "admin"]):
        response = await http.put(f"/api/v2/auth/users/{viewer_id}/roles", json={"roles": roles}, headers=headers)
        expect_problem(response, 403, "access.permission_denied")
    me = await http.get("/api/v2/auth/me", headers=headers)
    assert me.json()["data"]["roles"] == ["viewer"]
    relogged = await http.post(
        "/api/v2/auth/login",
        json={"email": "viewer@example.com", "password": "another correct horse battery"},
        headers={"X-Tenant-ID": "acme"},
    )
    fresh = {"Authorization": f"Bearer {relogged.json()['data']['access_token']}"}
    expect_problem(
        await http.post("/api/v1/products", json=NEW_PRODUCT, headers=fresh), 403, "access.permission_denied"
    )


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_non_admins_cannot_read_the_audit_log(http, admin, add_user, expect_problem, role) -> None:
    _, headers = await add_user(admin, f"{role}@example.com", [role])
    for attempt in (headers, {**headers, **FORGED_GRANTS}):
        expect_problem(await http.get("/api/v2/audit", headers=attempt), 403, "access.permission_denied")
    assert (await http.get("/api/v2/audit", headers=admin)).status_code == 200


async def test_editor_cannot_manage_users(http, admin, add_user, expect_problem) -> None:
    editor_id, headers = await add_user(admin, "editor@example.com", ["editor"])
    response = await http.put(f"/api/v2/auth/users/{editor_id}/roles", json={"roles": ["admin"]}, headers=headers)
    expect_problem(response, 403, "access.permission_denied")
    users = (await http.get("/api/v2/auth/users", headers=admin)).json()["data"]
    assert next(user for user in users if user["id"] == editor_id)["roles"] == ["editor"]


async def test_anonymous_caller_is_asked_to_authenticate(http, admin, create_product, expect_problem) -> None:
    product = await create_product(admin)
    for response in (
        await http.get("/api/v1/products", headers=FORGED_GRANTS),
        await http.delete(f"/api/v1/products/{product['id']}", headers=FORGED_GRANTS),
        await http.get("/api/v2/audit", headers=FORGED_GRANTS),
        await http.get("/api/v2/auth/users", headers=FORGED_GRANTS),
    ):
        expect_problem(response, 401, "access.authentication_required")
    assert (await http.get(f"/api/v1/products/{product['id']}", headers=admin)).status_code == 200


async def test_another_users_api_key_cannot_be_revoked_or_rotated(http, admin, viewer, expect_problem) -> None:
    issued = await http.post("/api/v2/auth/api-keys", json={"name": "ci"}, headers=admin)
    assert issued.status_code == 201
    key_id, secret = issued.json()["data"]["key"]["id"], issued.json()["data"]["secret"]
    for response in (
        await http.delete(f"/api/v2/auth/api-keys/{key_id}", headers=viewer[1]),
        await http.post(f"/api/v2/auth/api-keys/{key_id}/rotate", headers=viewer[1]),
    ):
        body = expect_problem(response, 404, "identity.api_key_not_found", secrets=[secret])
        assert "admin" not in body["detail"]
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = await http.delete(f"/api/v2/auth/api-keys/{unknown}", headers=viewer[1])
    assert missing.json()["title"] == response.json()["title"]  # an existing key reads like a missing one
    assert (await http.get("/api/v2/auth/api-keys", headers=viewer[1])).json()["data"] == []
    keys = (await http.get("/api/v2/auth/api-keys", headers=admin)).json()["data"]
    assert [(key["id"], key["revoked_at"]) for key in keys] == [(key_id, None)]
    assert len(keys) == 1
    assert (await http.get("/api/v2/auth/me", headers={"X-API-Key": secret})).status_code == 200


async def test_viewers_api_key_carries_only_viewer_rights(http, admin, viewer, expect_problem) -> None:
    issued = await http.post("/api/v2/auth/api-keys", json={"name": "mine"}, headers=viewer[1])
    secret = issued.json()["data"]["secret"]
    with_key = {"X-API-Key": secret, **FORGED_GRANTS}
    expect_problem(
        await http.post("/api/v1/products", json=NEW_PRODUCT, headers=with_key), 403, "access.permission_denied"
    )
    expect_problem(await http.get("/api/v2/audit", headers=with_key), 403, "access.permission_denied")


async def test_admin_cannot_demote_themselves(http, admin, expect_problem) -> None:
    me = (await http.get("/api/v2/auth/me", headers=admin)).json()["data"]
    for roles in (["viewer"], ["editor"], []):
        response = await http.put(f"/api/v2/auth/users/{me['id']}/roles", json={"roles": roles}, headers=admin)
        expect_problem(response, 409, "identity.self_demotion")
    assert (await http.get("/api/v2/auth/me", headers=admin)).json()["data"]["roles"] == ["admin"]
    assert (await http.get("/api/v2/auth/users", headers=admin)).status_code == 200


async def test_unknown_roles_are_refused_not_granted(http, admin, viewer, expect_problem) -> None:
    viewer_id, headers = viewer
    for roles in (["superuser"], ["ADMIN"], ["admin "], ["*"], ["service"]):  # service: signed requests only
        response = await http.put(f"/api/v2/auth/users/{viewer_id}/roles", json={"roles": roles}, headers=admin)
        expect_problem(response, 422, "common.validation_failed")
    assert (await http.get("/api/v2/auth/me", headers=headers)).json()["data"]["roles"] == ["viewer"]
