"""Correlation id: a valid incoming one is kept, anything else replaced; echoed, bound while serving, then reset."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from apibase.core.context import current_correlation_id
from apibase.interface.http.middleware.correlation import (
    CORRELATION_ID_SCOPE_KEY,
    CorrelationIdMiddleware,
    correlation_id_for,
)
from apibase.interface.http.middleware.request_id import RequestIdMiddleware

pytestmark = pytest.mark.unit


def build_app(*, with_request_id: bool = True) -> FastAPI:
    app = FastAPI()

    @app.get("/seen")
    async def seen() -> dict[str, str | None]:
        return {"correlation_id": current_correlation_id()}

    app.add_middleware(CorrelationIdMiddleware)
    if with_request_id:
        app.add_middleware(RequestIdMiddleware)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize("incoming", ["flow-1", "a" * 128, "svc:orders.v2_7-X"])
async def test_a_valid_incoming_id_is_kept_bound_and_echoed(incoming: str) -> None:
    async with client(build_app()) as http:
        response = await http.get("/seen", headers={"X-Correlation-ID": incoming, "X-Request-ID": "rid-1"})
    assert response.json() == {"correlation_id": incoming}
    assert response.headers["x-correlation-id"] == incoming
    assert response.headers["x-request-id"] == "rid-1"


@pytest.mark.parametrize("incoming", ["", "a" * 129, "has space", "bad/slash", "new\u00e9line", "x;y=1"])
async def test_an_invalid_incoming_id_is_replaced_by_the_request_id(incoming: str) -> None:
    async with client(build_app()) as http:
        response = await http.get("/seen", headers={"X-Correlation-ID": incoming.encode(), "X-Request-ID": "rid-2"})
    assert response.json() == {"correlation_id": "rid-2"}
    assert response.headers["x-correlation-id"] == "rid-2"


async def test_without_any_header_the_generated_request_id_starts_the_flow() -> None:
    async with client(build_app()) as http:
        response = await http.get("/seen")
    assert response.headers["x-correlation-id"] == response.headers["x-request-id"]
    assert response.json() == {"correlation_id": response.headers["x-request-id"]}


async def test_without_a_request_id_a_new_id_is_made() -> None:
    async with client(build_app(with_request_id=False)) as http:
        first = await http.get("/seen")
        second = await http.get("/seen")
    ids = {first.headers["x-correlation-id"], second.headers["x-correlation-id"]}
    assert len(ids) == 2
    assert all(len(value) == 32 for value in ids)


async def test_the_header_replaces_one_set_by_the_application_and_the_context_is_reset() -> None:
    seen: list[object] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((current_correlation_id(), correlation_id_for(scope)))
        headers = [(b"x-correlation-id", b"forged"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"x-correlation-id", b"flow-9")]}
    await CorrelationIdMiddleware(app)(scope, receive, send)
    assert seen == [("flow-9", "flow-9")]
    assert scope[CORRELATION_ID_SCOPE_KEY] == "flow-9"
    assert [value for name, value in sent[0]["headers"] if name == b"x-correlation-id"] == [b"flow-9"]
    assert current_correlation_id() is None


async def test_the_context_is_reset_when_the_application_raises() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("bug")

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        return None

    with pytest.raises(RuntimeError, match="bug"):
        await CorrelationIdMiddleware(broken)({"type": "http", "headers": []}, receive, send)
    assert current_correlation_id() is None


async def test_lifespan_scopes_pass_through_untouched() -> None:
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        return None

    await CorrelationIdMiddleware(app)({"type": "lifespan"}, receive, send)
    assert scopes == [{"type": "lifespan"}]
    assert correlation_id_for({"type": "lifespan"}) is None
