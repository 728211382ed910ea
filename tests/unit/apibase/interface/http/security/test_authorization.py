"""Permission dependencies: 401 without a caller, 403 without the permission, never a client-sent role; what
they require can be listed, so an undeclared permission stops the app from being built."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.types import Receive, Scope, Send

from apibase.core.principal import AuthMethod, Principal
from apibase.domain.identity.permissions import PermissionRegistry, read_write
from apibase.interface.http.problems import install_problem_handlers
from apibase.interface.http.security.authorization import authenticated, check_declared, require, required_permissions

pytestmark = pytest.mark.unit

VIEWER = Principal("v", "acme", frozenset({"viewer"}), frozenset({"products:read"}), AuthMethod.ACCESS_TOKEN)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/read", dependencies=[require("products:read")])
    async def read() -> dict[str, str]:
        return {"ok": "read"}

    @app.get("/write", dependencies=[require("products:read", "products:write")])
    async def write() -> dict[str, str]:
        return {"ok": "write"}

    @app.get("/any", dependencies=[authenticated()])
    async def any_caller() -> dict[str, str]:
        return {"ok": "any"}

    async def as_viewer(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"x-test-login") == b"viewer":
            scope.setdefault("state", {})["principal"] = VIEWER
        await app(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=as_viewer), base_url="http://t") as http:
        yield http


async def test_anonymous_callers_get_401(client: httpx.AsyncClient) -> None:
    for path in ("/read", "/write", "/any"):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "access.authentication_required"


async def test_a_missing_permission_is_a_403_that_names_it(client: httpx.AsyncClient) -> None:
    login = {"x-test-login": "viewer"}
    assert (await client.get("/read", headers=login)).json() == {"ok": "read"}
    assert (await client.get("/any", headers=login)).status_code == 200
    denied = await client.get("/write", headers=login)
    assert denied.status_code == 403
    assert denied.json()["code"] == "access.permission_denied"
    assert denied.json()["missing"] == ["products:write"]


async def test_role_and_permission_headers_from_the_client_are_ignored(client: httpx.AsyncClient) -> None:
    forged = {"x-test-login": "viewer", "X-Roles": "admin", "X-Permissions": "products:write"}
    assert (await client.get("/write", headers=forged)).status_code == 403


def test_the_permissions_routes_require_are_readable_through_mounts_and_routers() -> None:
    router = APIRouter(prefix="/suppliers", dependencies=[require("suppliers:read")])

    @router.delete("/{supplier_id}", dependencies=[require("suppliers:write", "suppliers:delete")])
    async def delete(supplier_id: str) -> None:
        return None

    @router.get("")
    async def listing() -> list[str]:
        return []

    version = FastAPI()
    version.include_router(router)
    app = FastAPI()
    app.mount("/api/v9", version)

    @app.get("/me", dependencies=[authenticated()])
    async def me() -> None:
        return None

    assert required_permissions(app.routes) == {"suppliers:read", "suppliers:write", "suppliers:delete"}
    registry = PermissionRegistry()
    registry.declare_all(dict.fromkeys(read_write("suppliers"), "Suppliers"))
    with pytest.raises(LookupError, match=r"undeclared permission\(s\): suppliers:delete$"):
        check_declared(app.routes, registry)
    registry.declare("suppliers:delete", "Delete suppliers")
    check_declared(app.routes, registry)
