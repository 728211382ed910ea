"""Request ids: accepted when well formed, generated otherwise, bound for the request, echoed on every response."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from apibase.core.context import current_request_id, request_id
from apibase.interface.http.middleware.request_id import REQUEST_ID_PATTERN, RequestIdMiddleware, new_request_id
from apibase.interface.http.problems import REQUEST_ID_SCOPE_KEY, install_problem_handlers

pytestmark = pytest.mark.unit

GENERATED = re.compile(r"[0-9a-f]{32}")


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    @app.get("/whoami")
    async def whoami() -> dict[str, str | None]:
        return {"request_id": current_request_id()}

    @app.get("/crash")
    async def crash() -> None:
        raise ZeroDivisionError

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


@pytest.mark.parametrize("incoming", ["abc", "0f8fad5b-d9cb-469f-a165-70867728950e", "a.b_c:d-e", "x" * 128])
async def test_a_well_formed_incoming_id_is_kept(incoming: str) -> None:
    async with client(build_app()) as http:
        response = await http.get("/whoami", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming
    assert response.json() == {"request_id": incoming}


@pytest.mark.parametrize("incoming", ["", "x" * 129, "has space", "semi;colon", "new\u00e9line", "a/b", "ok\t"])
async def test_a_malformed_incoming_id_is_replaced(incoming: str) -> None:
    async with client(build_app()) as http:
        response = await http.get("/whoami", headers={"X-Request-ID": incoming.encode("latin-1")})
    assert GENERATED.fullmatch(response.headers["x-request-id"])
    assert response.json() == {"request_id": response.headers["x-request-id"]}


async def test_an_id_is_generated_when_none_is_sent_and_each_request_gets_its_own() -> None:
    async with client(build_app()) as http:
        first = await http.get("/whoami")
        second = await http.get("/whoami")
    assert GENERATED.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_the_context_variable_is_reset_after_the_request() -> None:
    async with client(build_app()) as http:
        await http.get("/whoami", headers={"X-Request-ID": "leak-check"})
    assert current_request_id() is None


async def test_error_responses_and_500s_carry_the_id_once() -> None:
    async with client(build_app()) as http:
        missing = await http.get("/missing", headers={"X-Request-ID": "r-404"})
        crashed = await http.get("/crash", headers={"X-Request-ID": "r-500"})
    assert missing.headers.get_list("x-request-id") == ["r-404"]
    assert missing.json()["request_id"] == "r-404"
    assert crashed.status_code == 500
    assert crashed.headers.get_list("x-request-id") == ["r-500"]
    assert crashed.json()["request_id"] == "r-500"
    assert current_request_id() is None


async def test_an_id_set_by_the_application_is_replaced_not_duplicated() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope[REQUEST_ID_SCOPE_KEY] == "outer"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-request-id", b"inner")]})
        await send({"type": "http.response.body", "body": b""})

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=RequestIdMiddleware(inner)), base_url="http://t"
    ) as http:
        response = await http.get("/", headers={"X-Request-ID": "outer"})
    assert response.headers.get_list("x-request-id") == ["outer"]


async def test_websocket_scopes_get_an_id_and_other_scopes_pass_through() -> None:
    seen: list[tuple[str, str | None]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope["type"], request_id.get()))

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        return None

    middleware = RequestIdMiddleware(inner)
    await middleware({"type": "websocket", "headers": [(b"x-request-id", b"ws-1")]}, receive, send)
    await middleware({"type": "lifespan"}, receive, send)
    assert seen == [("websocket", "ws-1"), ("lifespan", None)]


def test_new_ids_match_the_accepted_pattern() -> None:
    assert REQUEST_ID_PATTERN.fullmatch(new_request_id())


def test_new_ids_are_random_uuids_in_hex_as_uuid4_makes_them() -> None:
    ids = [new_request_id() for _ in range(200)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert parsed.hex == value
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
