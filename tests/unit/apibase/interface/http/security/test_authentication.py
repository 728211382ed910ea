"""AuthenticationMiddleware: credentials become a principal once; bad credentials never fall back to anonymous."""

from __future__ import annotations

from enum import StrEnum

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from apibase.core.context import current_principal, current_tenant
from apibase.core.errors import AppError
from apibase.core.principal import AuthMethod, Principal
from apibase.core.result import Err, Ok, Result
from apibase.infrastructure.security.tokens.errors import AuthErrorCode, InvalidToken
from apibase.interface.http.security.authentication import AuthenticationMiddleware

pytestmark = pytest.mark.unit

ALICE = Principal("alice", "acme", frozenset({"viewer"}), frozenset({"products:read"}), AuthMethod.ACCESS_TOKEN)
ROBOT = Principal("key-1", "acme", frozenset({"editor"}), frozenset({"products:write"}), AuthMethod.API_KEY)


async def by_token(token: str) -> Result[Principal, AppError[StrEnum]]:
    return Ok(ALICE) if token == "good-token" else Err(InvalidToken("bad", code=AuthErrorCode.TOKEN_EXPIRED))


async def by_key(key: str) -> Result[Principal, AppError[StrEnum]]:
    return Ok(ROBOT) if key == "good-key" else Err(InvalidToken("bad key"))


async def whoami(request: Request) -> JSONResponse:
    caller = current_principal()
    return JSONResponse(
        {
            "subject": caller.subject if caller else None,
            "tenant": current_tenant(),
            "state_tenant": request.state.tenant,
            "user_id": getattr(request.state, "user_id", None),
        }
    )


@pytest.fixture
async def client() -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/me", whoami)])
    wrapped = AuthenticationMiddleware(app, access_token=by_token, api_key=by_key, default_tenant="public")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://test")


async def test_no_credentials_is_anonymous_in_the_default_tenant(client: httpx.AsyncClient) -> None:
    body = (await client.get("/me")).json()
    assert body == {"subject": None, "tenant": "public", "state_tenant": "public", "user_id": None}
    assert current_principal() is None
    assert current_tenant() is None


async def test_anonymous_callers_pick_a_tenant_with_the_header(client: httpx.AsyncClient) -> None:
    assert (await client.get("/me", headers={"X-Tenant-ID": "globex"})).json()["tenant"] == "globex"


@pytest.mark.parametrize("tenant", ["ACME", "a b", "../x", "x" * 80, ""])
async def test_a_malformed_tenant_header_is_a_400(client: httpx.AsyncClient, tenant: str) -> None:
    response = await client.get("/me", headers={"X-Tenant-ID": tenant})
    assert response.status_code == 400
    assert response.json()["code"] == "tenancy.invalid_tenant"


async def test_a_valid_token_sets_principal_tenant_and_user(client: httpx.AsyncClient) -> None:
    body = (await client.get("/me", headers={"Authorization": "Bearer good-token"})).json()
    assert body == {"subject": "alice", "tenant": "acme", "state_tenant": "acme", "user_id": "alice"}


async def test_an_api_key_authenticates_too(client: httpx.AsyncClient) -> None:
    assert (await client.get("/me", headers={"X-API-Key": "good-key"})).json()["subject"] == "key-1"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"Authorization": "Bearer expired"}, "auth.token_expired"),
        ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, "auth.token_malformed"),
        ({"Authorization": "Bearer "}, "auth.token_malformed"),
        ({"X-API-Key": "forged"}, "auth.token_invalid"),
    ],
)
async def test_bad_credentials_are_refused_never_anonymous(
    client: httpx.AsyncClient, headers: dict[str, str], code: str
) -> None:
    response = await client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_a_token_cannot_be_pointed_at_another_tenant(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers={"Authorization": "Bearer good-token", "X-Tenant-ID": "globex"})
    assert response.status_code == 403
    assert response.json()["code"] == "tenancy.tenant_mismatch"
    same = await client.get("/me", headers={"Authorization": "Bearer good-token", "X-Tenant-ID": "acme"})
    assert same.json()["tenant"] == "acme"


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(str(scope["type"]))

    middleware = AuthenticationMiddleware(app, access_token=by_token, api_key=by_key)  # type: ignore[arg-type]
    await middleware({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]
