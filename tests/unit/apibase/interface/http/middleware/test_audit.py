"""AuditMiddleware: one entry per mutating request with actor, action and resource; refusals too; reads never."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from apibase.application.in_memory.audit import InMemoryAuditLog
from apibase.application.ports.audit import AuditEntry
from apibase.core.errors import ForbiddenError, UnauthorizedError
from apibase.core.principal import AuthMethod, Principal
from apibase.interface.http.middleware.audit import AuditMiddleware, resource_of
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.problems import install_problem_handlers, send_problem

pytestmark = pytest.mark.unit

ALICE = Principal("alice", "acme", frozenset({"editor"}), frozenset({"products:write"}), AuthMethod.ACCESS_TOKEN)
CREATED_ID = "0b7c6a8e-53a5-4d5e-9f4e-1f1b2c3d4e5f"


class FakeAuthentication:
    """Like the real one: a good credential leaves the principal in the state, a bad one is refused with 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            credential = dict(scope["headers"]).get(b"x-test-user")
            if credential == b"bad":
                await send_problem(scope, receive, send, UnauthorizedError("bad token").to_problem_detail())
                return
            state = scope.setdefault("state", {})
            state["principal"] = ALICE if credential == b"alice" else None
            state["tenant"] = "acme" if credential == b"alice" else "default"
        await self.app(scope, receive, send)


def versioned_api() -> FastAPI:
    products = APIRouter(prefix="/products")

    @products.get("/{product_id}")
    async def get_product(product_id: str) -> dict[str, str]:
        return {"id": product_id}

    @products.post("", status_code=201)
    async def create_product(response: Response) -> dict[str, str]:
        response.headers["Location"] = f"/api/v2/products/{CREATED_ID}"
        return {"id": CREATED_ID}

    @products.patch("/{product_id}")
    async def update_product(product_id: str) -> dict[str, str]:
        return {"id": product_id}

    @products.delete("/{product_id}", status_code=204)
    async def delete_product(product_id: str) -> None:
        return None

    @products.put("/{product_id}/price")
    async def reprice(product_id: str) -> None:
        raise ForbiddenError("you may not set prices")

    @products.post("/{product_id}/crash")
    async def crash(product_id: str) -> None:
        raise ZeroDivisionError

    v2 = FastAPI()
    install_problem_handlers(v2)
    v2.include_router(products)

    @v2.post("/orders/{order_id}/pay")
    async def pay(order_id: int) -> dict[str, int]:
        return {"id": order_id}

    app = FastAPI()
    install_problem_handlers(app)
    app.mount("/api/v2", v2)
    return app


def build_app(log: InMemoryAuditLog | BrokenLog, *, audit_outside_authentication: bool = True) -> FastAPI:
    app = versioned_api()
    if audit_outside_authentication:
        app.add_middleware(FakeAuthentication)
        app.add_middleware(AuditMiddleware, log=log)
    else:
        app.add_middleware(AuditMiddleware, log=log)
        app.add_middleware(FakeAuthentication)
    app.add_middleware(RequestIdMiddleware)
    return app


class BrokenLog(InMemoryAuditLog):
    async def record(self, entry: AuditEntry) -> None:
        raise ConnectionError("audit database is down")


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


async def entries(log: InMemoryAuditLog, tenant: str = "acme") -> list[AuditEntry]:
    return list(reversed(await log.list(tenant, limit=100)))


ALICE_HEADERS = {"X-Test-User": "alice"}


@pytest.mark.parametrize("audit_outside_authentication", [True, False])
async def test_create_update_and_delete_are_recorded_with_actor_and_resource(
    audit_outside_authentication: bool,
) -> None:
    log = InMemoryAuditLog()
    async with client(build_app(log, audit_outside_authentication=audit_outside_authentication)) as http:
        created = await http.post("/api/v2/products?secret=x", json={}, headers={**ALICE_HEADERS, "X-Request-ID": "r1"})
        await http.patch("/api/v2/products/p-7", json={}, headers=ALICE_HEADERS)
        await http.delete("/api/v2/products/p-7", headers=ALICE_HEADERS)
        await http.post("/api/v2/orders/42/pay", headers=ALICE_HEADERS)
    assert created.status_code == 201
    recorded = await entries(log)
    assert [(e.action, e.resource_type, e.resource_id, e.outcome) for e in recorded] == [
        ("POST /api/v2/products", "products", CREATED_ID, 201),
        ("PATCH /api/v2/products/{product_id}", "products", "p-7", 200),
        ("DELETE /api/v2/products/{product_id}", "products", "p-7", 204),
        ("POST /api/v2/orders/{order_id}/pay", "orders", "42", 200),
    ]
    first = recorded[0]
    assert (first.actor, first.actor_method, first.tenant) == ("alice", AuthMethod.ACCESS_TOKEN, "acme")
    assert (first.request_id, first.client_ip) == ("r1", "127.0.0.1")
    assert first.occurred_at.tzinfo is not None
    assert len({e.id for e in recorded}) == 4


async def test_reads_are_not_recorded() -> None:
    log = InMemoryAuditLog()
    async with client(build_app(log)) as http:
        assert (await http.get("/api/v2/products/p-1", headers=ALICE_HEADERS)).status_code == 200
        await http.head("/api/v2/products/p-1", headers=ALICE_HEADERS)
        await http.options("/api/v2/products/p-1", headers=ALICE_HEADERS)
    assert len(log) == 0


async def test_a_forbidden_attempt_is_recorded() -> None:
    log = InMemoryAuditLog()
    async with client(build_app(log)) as http:
        response = await http.put("/api/v2/products/p-9/price", json={}, headers=ALICE_HEADERS)
    assert response.status_code == 403
    (entry,) = await entries(log)
    assert (entry.actor, entry.action, entry.resource_id, entry.outcome) == (
        "alice",
        "PUT /api/v2/products/{product_id}/price",
        "p-9",
        403,
    )


async def test_a_request_refused_by_authentication_is_recorded_as_anonymous() -> None:
    log = InMemoryAuditLog()
    async with client(build_app(log)) as http:
        response = await http.delete("/api/v2/products/p-3?token=leak", headers={"X-Test-User": "bad"})
        await http.post("/api/v2/products", json={})
    assert response.status_code == 401
    refused, anonymous = await entries(log, "default")
    assert (refused.actor, refused.actor_method, refused.outcome) == ("anonymous", None, 401)
    assert (refused.action, refused.resource_type, refused.resource_id) == (
        "DELETE /api/v2/products/p-3",
        "unknown",
        None,
    )
    assert (anonymous.actor, anonymous.tenant, anonymous.outcome) == ("anonymous", "default", 201)


async def test_a_crash_is_recorded_as_500_and_re_raised() -> None:
    log = InMemoryAuditLog()
    async with client(build_app(log)) as http:
        response = await http.post("/api/v2/products/p-1/crash", headers=ALICE_HEADERS)
    assert response.status_code == 500
    (entry,) = await entries(log)
    assert (entry.action, entry.outcome) == ("POST /api/v2/products/{product_id}/crash", 500)


async def test_the_exception_reaches_the_server() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("bug")

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: object) -> None:
        return None

    log = InMemoryAuditLog()
    scope: Scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}
    with pytest.raises(RuntimeError, match="bug"):
        await AuditMiddleware(broken, log=log)(scope, receive, send)
    (entry,) = await entries(log, "default")
    assert (entry.action, entry.outcome, entry.resource_type, entry.client_ip) == ("POST /x", 500, "unknown", None)


async def test_a_failed_write_is_logged_and_the_response_is_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    async with client(build_app(BrokenLog())) as http:
        with caplog.at_level(logging.ERROR, logger="apibase.interface.http.middleware.audit"):
            response = await http.post("/api/v2/products", json={}, headers=ALICE_HEADERS)
    assert response.status_code == 201
    assert response.json() == {"id": CREATED_ID}
    (record,) = [r for r in caplog.records if r.name == "apibase.interface.http.middleware.audit"]
    assert record.levelno == logging.ERROR
    assert "audit entry could not be written" in record.getMessage()
    assert "POST /api/v2/products" in record.getMessage()
    assert record.exc_info is not None


async def test_only_the_configured_methods_are_recorded() -> None:
    log = InMemoryAuditLog()
    app = versioned_api()
    app.add_middleware(FakeAuthentication)
    app.add_middleware(AuditMiddleware, log=log, methods=("delete",))
    async with client(app) as http:
        await http.post("/api/v2/products", json={}, headers=ALICE_HEADERS)
        await http.delete("/api/v2/products/p-1", headers=ALICE_HEADERS)
    assert [e.action for e in await entries(log)] == ["DELETE /api/v2/products/{product_id}"]


async def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> dict[str, object]:
        return {"type": "lifespan.startup"}

    async def send(message: object) -> None:
        return None

    log = InMemoryAuditLog()
    await AuditMiddleware(app, log=log)({"type": "lifespan"}, receive, send)
    assert (seen, len(log)) == (["lifespan"], 0)


@pytest.mark.parametrize(
    ("template", "params", "location", "expected"),
    [
        ("/api/v2/products/{product_id}", {"product_id": "p"}, None, ("products", "p")),
        ("/api/v1/orders/{order_id:int}/pay", {"order_id": 5}, None, ("orders", "5")),
        ("/orders/{order_id}/lines/{line_id}", {"order_id": "o", "line_id": "l"}, None, ("lines", "l")),
        ("/things/{id}", {"id": uuid.UUID(int=1)}, None, ("things", str(uuid.UUID(int=1)))),
        ("/{tenant_id}", {"tenant_id": "acme"}, None, ("tenant", "acme")),
        ("/api/v2/products", {}, "http://h/api/v2/products/abc%20d?x=1", ("products", "abc d")),
        ("/api/v2/products", {}, None, ("products", None)),
        ("/files/{name}", {"name": "a.txt"}, None, ("files", None)),
        ("/{slug}", {"slug": "x"}, None, ("unknown", None)),
    ],
)
def test_resource_of(
    template: str, params: dict[str, object], location: str | None, expected: tuple[str, str | None]
) -> None:
    assert resource_of(template, params, location) == expected
