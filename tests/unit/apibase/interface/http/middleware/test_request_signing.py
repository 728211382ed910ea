"""Signed internal requests: accepted with a service principal; tampered, stale, replayed or unsigned ones refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.types import Message, Receive, Scope, Send

from apibase.core.context import current_principal, current_tenant
from apibase.core.principal import AuthMethod, Principal
from apibase.infrastructure.crypto.request_signing import (
    InMemoryReplayCache,
    RequestSigner,
    RequestVerifier,
    SigningKey,
)
from apibase.interface.http.internal import internal_router
from apibase.interface.http.middleware.body_limit import BodyLimitMiddleware
from apibase.interface.http.middleware.request_signing import RequestSigningMiddleware
from apibase.interface.http.problems import install_problem_handlers

pytestmark = pytest.mark.unit

KEY = SigningKey("billing", b"k" * 32)
OTHER = SigningKey("billing", b"x" * 32)
NOW = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def build_app(clock: Clock) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(internal_router())

    @app.post("/internal/v1/echo")
    async def echo(request: Request) -> dict[str, object]:
        caller = current_principal()
        return {
            "body": (await request.body()).decode(),
            "query": str(request.query_params),
            "context": [caller.subject if caller else None, current_tenant()],
        }

    @app.api_route("/public/echo", methods=["GET", "POST"])
    async def public(request: Request) -> dict[str, object]:
        state = request.scope.get("state", {})
        return {"body": (await request.body()).decode(), "principal": repr(state.get("principal"))}

    verifier = RequestVerifier([KEY], clock=clock, replay_cache=InMemoryReplayCache(clock=clock))
    app.add_middleware(RequestSigningMiddleware, verifier=verifier, permissions={"orders:read"})
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=64)
    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def http(clock: Clock) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(clock)), base_url="http://t")


def signed(clock: Clock, method: str, target: str, body: bytes = b"", key: SigningKey = KEY) -> dict[str, str]:
    return RequestSigner(key, clock=clock).sign(method, target, body)


async def test_a_signed_get_reaches_the_handler_as_a_service_principal(http: httpx.AsyncClient, clock: Clock) -> None:
    headers = {**signed(clock, "GET", "/internal/v1/whoami"), "X-Tenant-ID": "acme"}
    response = await http.get("/internal/v1/whoami", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"service": "billing", "tenant": "acme"}


async def test_the_default_tenant_applies_without_a_header(http: httpx.AsyncClient, clock: Clock) -> None:
    response = await http.get("/internal/v1/whoami", headers=signed(clock, "GET", "/internal/v1/whoami"))
    assert response.json() == {"service": "billing", "tenant": "default"}


async def test_a_signed_post_gets_its_body_and_context(http: httpx.AsyncClient, clock: Clock) -> None:
    body = b'{"amount": 10}'
    target = "/internal/v1/echo?a=1&b=%2F"
    headers = {**signed(clock, "POST", target, body), "X-Tenant-ID": "acme", "Content-Type": "application/json"}
    response = await http.post(target, content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"body": body.decode(), "query": "a=1&b=%2F", "context": ["billing", "acme"]}
    assert (current_principal(), current_tenant()) == (None, None)


async def test_the_principal_carries_the_service_role_and_configured_permissions(clock: Clock) -> None:
    seen: list[Principal] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["state"]["principal"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    verifier = RequestVerifier([KEY], clock=clock)
    middleware = RequestSigningMiddleware(app, verifier=verifier, permissions=["a", "b"], default_tenant="main")
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/internal/x", headers=signed(clock, "GET", "/internal/x"))
    assert response.status_code == 204
    expected = Principal("billing", "main", frozenset({"service"}), frozenset({"a", "b"}), AuthMethod.SIGNED_REQUEST)
    assert seen == [expected]


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("tampered body", "crypto.signature_invalid"),
        ("tampered query", "crypto.signature_invalid"),
        ("other method", "crypto.signature_invalid"),
        ("wrong key", "crypto.signature_invalid"),
        ("old timestamp", "crypto.signature_expired"),
        ("missing signature", "crypto.signature_invalid"),
    ],
)
async def test_bad_signatures_are_refused_with_401_problems(
    http: httpx.AsyncClient, clock: Clock, case: str, code: str
) -> None:
    body = b'{"amount": 10}'
    target = "/internal/v1/echo?a=1"
    headers = signed(clock, "POST", target, body, key=OTHER if case == "wrong key" else KEY)
    sent_body, sent_target, method = body, target, "POST"
    match case:
        case "tampered body":
            sent_body = b'{"amount": 1000}'
        case "tampered query":
            sent_target = "/internal/v1/echo?a=2"
        case "other method":
            method = "PUT"
        case "old timestamp":
            clock.now += 301
        case "missing signature":
            del headers["Signature"]
    response = await http.request(method, sent_target, content=sent_body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert response.json()["instance"] == "/internal/v1/echo"


async def test_a_replayed_request_is_refused(http: httpx.AsyncClient, clock: Clock) -> None:
    headers = signed(clock, "GET", "/internal/v1/whoami")
    assert (await http.get("/internal/v1/whoami", headers=headers)).status_code == 200
    replay = await http.get("/internal/v1/whoami", headers=headers)
    assert replay.status_code == 401
    assert replay.json()["code"] == "crypto.signature_replayed"


async def test_a_malformed_tenant_is_refused_not_defaulted(http: httpx.AsyncClient, clock: Clock) -> None:
    headers = {**signed(clock, "GET", "/internal/v1/whoami"), "X-Tenant-ID": "Not A Slug"}
    response = await http.get("/internal/v1/whoami", headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "tenancy.invalid_tenant"


async def test_the_body_limit_outside_bounds_the_read(http: httpx.AsyncClient, clock: Clock) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # streamed: no Content-Length, so the bytes read are counted
        for _ in range(5):
            yield b"x" * 20

    headers = signed(clock, "POST", "/internal/v1/echo")
    response = await http.post("/internal/v1/echo", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert response.json()["code"] == "common.payload_too_large"


async def test_unsigned_requests_outside_the_prefixes_are_untouched(http: httpx.AsyncClient) -> None:
    response = await http.post("/public/echo", content=b"hello")
    assert response.status_code == 200
    assert response.json() == {"body": "hello", "principal": "None"}
    assert (await http.get("/internal-ish")).status_code == 404


async def test_whoami_without_a_signed_principal_is_401() -> None:
    plain = FastAPI()
    install_problem_handlers(plain)
    plain.include_router(internal_router())
    forged = Principal("mallory", "acme", frozenset({"service"}), frozenset(), AuthMethod.ACCESS_TOKEN)

    async def with_user(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].endswith("/user"):
            scope["path"] = "/internal/v1/whoami"
            scope["state"] = {"principal": forged}
        await plain(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=with_user), base_url="http://t") as client:
        anonymous = await client.get("/internal/v1/whoami")
        token_user = await client.get("/internal/v1/user")
    assert anonymous.status_code == token_user.status_code == 401
    assert anonymous.json()["code"] == "common.unauthorized"


async def test_a_client_that_disconnects_before_its_body_gets_no_answer(clock: Clock) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the application must not run")

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = RequestSigningMiddleware(app, verifier=RequestVerifier([KEY], clock=clock))
    scope: Scope = {"type": "http", "method": "POST", "path": "/internal/x", "headers": [], "query_string": b""}
    await middleware(scope, receive, send)
    assert sent == []


def test_configuration_is_checked() -> None:
    verifier = RequestVerifier([KEY])
    with pytest.raises(ValueError, match="path_prefixes"):
        RequestSigningMiddleware(FastAPI(), verifier=verifier, path_prefixes=("internal",))
    with pytest.raises(ValueError, match="default_tenant"):
        RequestSigningMiddleware(FastAPI(), verifier=verifier, default_tenant="No")


async def test_after_the_replayed_body_the_application_hears_the_server(clock: Clock) -> None:
    heard: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        heard.extend([await receive(), await receive()])

    body = b"payload"
    incoming: list[Message] = [
        {"type": "http.request", "body": body[:3], "more_body": True},
        {"type": "http.request", "body": body[3:], "more_body": False},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        raise AssertionError("the application sends nothing")

    headers = signed(clock, "POST", "/internal/x", body)
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/internal/x",
        "raw_path": b"/internal/x",
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
    }
    await RequestSigningMiddleware(app, verifier=RequestVerifier([KEY], clock=clock))(scope, receive, send)
    assert heard == [{"type": "http.request", "body": body, "more_body": False}, {"type": "http.disconnect"}]
