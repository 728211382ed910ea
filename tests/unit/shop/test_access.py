"""The reference service's access policy: its role table, declarations that match its routes, and the wiring.

create_app refuses to build when a route requires a permission nobody declared; signed service calls get the
policy's ``service`` grants; the identity API takes role names from the policy (default, reserved, unknown).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from apibase.domain.identity import KERNEL_PERMISSIONS
from apibase.interface.http.security.authorization import required_permissions
from apibase.testing.service import service_settings, sign_up
from shop.main import SERVICE, create_app

pytestmark = pytest.mark.unit

#: The table docs/security.md shows; changing a grant means changing both.
GRANTS = {
    "editor": {"products:read", "products:write", "products:delete", "orders:read", "orders:write", "reports:read"},
    "viewer": {"products:read", "orders:read"},
    "service": {"products:read", "orders:read"},
}


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(service_settings(tmp_path / "service.db"))


def test_the_reference_role_table() -> None:
    roles = SERVICE.policy()
    assert roles.roles == ("admin", "editor", "viewer", "service")
    assert roles.default_roles == ("viewer",)
    assert {role: roles.grants(role) for role in GRANTS} == GRANTS
    assert roles.grants("admin") == {*GRANTS["editor"], "users:manage", "audit:read"}


def test_every_declared_permission_guards_a_route_and_every_guard_is_declared(app: FastAPI) -> None:
    declared = set(app.state.kernel.security.roles.registry)
    assert required_permissions(app.routes) == declared
    assert declared == {*KERNEL_PERMISSIONS, *GRANTS["editor"]}


def test_signed_service_calls_get_the_policys_service_grants(app: FastAPI) -> None:
    assert app.state.kernel.security.roles.permissions_for(["service"]) == GRANTS["service"]


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        client.headers.update(await sign_up(client, tenant="acme"))
        yield client


async def test_the_identity_api_takes_its_roles_from_the_policy(http: httpx.AsyncClient) -> None:
    me = (await http.get("/api/v2/auth/me")).json()["data"]
    assert me["roles"] == ["admin"]
    password = "a long enough password"
    added = await http.post("/api/v2/auth/users", json={"email": "bob@example.com", "password": password})
    assert (added.status_code, added.json()["data"]["roles"]) == (201, ["viewer"])
    for roles in (["service"], ["owner"]):
        refused = await http.put(f"/api/v2/auth/users/{me['id']}/roles", json={"roles": roles})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "common.validation_failed"
        assert "known roles are admin, editor, viewer" in refused.text
