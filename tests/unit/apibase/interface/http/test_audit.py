"""GET /audit: the caller's own tenant only, newest first in keyset pages, behind the permission passed in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from apibase.application.in_memory.audit import InMemoryAuditLog
from apibase.application.ports.audit import AuditEntry
from apibase.core.errors import ForbiddenError
from apibase.core.principal import AuthMethod, Principal
from apibase.interface.http.audit import audit_router
from apibase.interface.http.problems import install_problem_handlers

pytestmark = pytest.mark.unit

START = datetime(2026, 5, 1, tzinfo=UTC)
AUDITOR = Principal("ann", "acme", frozenset({"admin"}), frozenset({"audit:read"}), AuthMethod.ACCESS_TOKEN)
CLERK = Principal("carl", "acme", frozenset({"clerk"}), frozenset(), AuthMethod.ACCESS_TOKEN)
RIVAL = Principal("rita", "globex", frozenset({"admin"}), frozenset({"audit:read"}), AuthMethod.ACCESS_TOKEN)
CALLERS = {"ann": AUDITOR, "carl": CLERK, "rita": RIVAL}


def entry(tenant: str, minute: int) -> AuditEntry:
    return AuditEntry(
        id=uuid.uuid4(),
        occurred_at=START + timedelta(minutes=minute),
        actor="someone",
        actor_method=AuthMethod.API_KEY,
        tenant=tenant,
        action="DELETE /api/v2/products/{product_id}",
        resource_type="products",
        resource_id=f"p-{minute}",
        outcome=204,
        request_id=None,
        client_ip="127.0.0.1",
    )


class CallerFromHeader:
    """Test stand-in for the authentication middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            name = dict(scope["headers"]).get(b"x-caller", b"").decode()
            scope.setdefault("state", {})["principal"] = CALLERS.get(name)
        await self.app(scope, receive, send)


async def require_audit_read(request: Request) -> None:
    caller = request.scope.get("state", {}).get("principal")
    if caller is not None and not caller.has("audit:read"):
        raise ForbiddenError("audit:read is required")


async def build(log: InMemoryAuditLog) -> httpx.AsyncClient:
    async def provider() -> InMemoryAuditLog:
        return log

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(audit_router(provider, [Depends(require_audit_read)]))
    app.add_middleware(CallerFromHeader)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.fixture
async def log() -> InMemoryAuditLog:
    log = InMemoryAuditLog()
    for minute in range(5):
        await log.record(entry("acme", minute))
    await log.record(entry("globex", 99))
    return log


async def test_pages_of_the_callers_tenant_newest_first(log: InMemoryAuditLog) -> None:
    async with await build(log) as http:
        first = (await http.get("/audit", params={"limit": 2}, headers={"X-Caller": "ann"})).json()
        second = (
            await http.get("/audit", params={"limit": 2, "cursor": first["next_cursor"]}, headers={"X-Caller": "ann"})
        ).json()
        last = (
            await http.get("/audit", params={"limit": 2, "cursor": second["next_cursor"]}, headers={"X-Caller": "ann"})
        ).json()
    ids = [item["resource_id"] for page in (first, second, last) for item in page["items"]]
    assert ids == ["p-4", "p-3", "p-2", "p-1", "p-0"]
    assert (first["has_next"], last["has_next"], last["next_cursor"]) == (True, False, None)
    item = first["items"][0]
    assert item["action"] == "DELETE /api/v2/products/{product_id}"
    assert (item["actor"], item["actor_method"], item["outcome"]) == ("someone", "api_key", 204)
    assert "tenant" not in item


async def test_another_tenant_sees_only_its_own_entries(log: InMemoryAuditLog) -> None:
    async with await build(log) as http:
        page = (await http.get("/audit", headers={"X-Caller": "rita"})).json()
        acme_cursor = (await http.get("/audit", params={"limit": 1}, headers={"X-Caller": "ann"})).json()["next_cursor"]
        probing = (await http.get("/audit", params={"cursor": acme_cursor}, headers={"X-Caller": "rita"})).json()
    assert [item["resource_id"] for item in page["items"]] == ["p-99"]
    assert probing["items"] == []


async def test_the_permission_dependency_is_enforced(log: InMemoryAuditLog) -> None:
    async with await build(log) as http:
        response = await http.get("/audit", headers={"X-Caller": "carl"})
    assert response.status_code == 403


async def test_an_anonymous_caller_gets_401(log: InMemoryAuditLog) -> None:
    async with await build(log) as http:
        response = await http.get("/audit")
    assert response.status_code == 401
    assert response.json()["code"] == "common.unauthorized"


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"cursor": "not-a-uuid"}])
async def test_bad_paging_parameters_are_422(log: InMemoryAuditLog, params: dict[str, object]) -> None:
    async with await build(log) as http:
        response = await http.get("/audit", params=params, headers={"X-Caller": "ann"})
    assert response.status_code == 422
