"""Bodies above the limit get a 413 problem, whether announced by Content-Length or streamed in chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.interface.http.middleware.body_limit import BodyLimitMiddleware, BodyTooLarge
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

pytestmark = pytest.mark.unit

LIMIT = 64


class Note(BaseModel):
    text: str


def build_app(calls: list[str] | None = None) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=LIMIT)
    app.add_middleware(RequestIdMiddleware)

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        if calls is not None:
            calls.append("raw")
        return {"size": len(await request.body())}

    @app.post("/notes")
    async def notes(note: Note) -> Note:
        return note

    return app


def client(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def chunks(total: int, size: int = 16) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b"x" * min(size, total - sent)
        sent += len(chunk)
        yield chunk


def assert_413(response: httpx.Response, instance: str) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["code"] == "common.payload_too_large"
    assert body["instance"] == instance
    assert body["detail"] == f"The request body exceeds the limit of {LIMIT} bytes."
    assert body["request_id"] == response.headers["x-request-id"] == "limit-1"


async def test_a_declared_length_over_the_limit_is_refused_before_the_application_runs() -> None:
    calls: list[str] = []
    async with client(build_app(calls)) as http:
        response = await http.post("/raw", content=b"x" * (LIMIT + 1), headers={"X-Request-ID": "limit-1"})
    assert_413(response, "/raw")
    assert calls == []


async def test_bodies_up_to_the_limit_pass() -> None:
    async with client(build_app()) as http:
        exact = await http.post("/raw", content=b"x" * LIMIT)
        streamed = await http.post("/raw", content=chunks(LIMIT))
        empty = await http.post("/raw")
    assert exact.json() == {"size": LIMIT}
    assert streamed.json() == {"size": LIMIT}
    assert empty.json() == {"size": 0}


async def test_a_chunked_body_without_content_length_is_cut_at_the_limit() -> None:
    async with client(build_app()) as http:
        response = await http.post("/raw", content=chunks(LIMIT * 4), headers={"X-Request-ID": "limit-1"})
    assert "content-length" not in response.request.headers
    assert_413(response, "/raw")


async def test_a_chunked_json_body_for_a_model_is_cut_too() -> None:
    async with client(build_app()) as http:
        response = await http.post(
            "/notes",
            content=chunks(LIMIT * 2),
            headers={"Content-Type": "application/json", "X-Request-ID": "limit-1"},
        )
    assert_413(response, "/notes")


@pytest.mark.parametrize("declared", [b"10", "\u00b2".encode("latin-1"), b"-5", b"abc"])
async def test_a_lying_or_unreadable_content_length_is_still_counted(declared: bytes) -> None:
    async with client(build_app()) as http:
        response = await http.post(
            "/raw", content=chunks(LIMIT * 2), headers={"Content-Length": declared, "X-Request-ID": "limit-1"}
        )
    assert_413(response, "/raw")


async def test_the_middleware_answers_itself_when_the_application_does_not_handle_the_error() -> None:
    async def plain_asgi(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body", False):
            pass
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = RequestIdMiddleware(BodyLimitMiddleware(plain_asgi, max_body_bytes=LIMIT))
    async with client(app) as http:
        small = await http.post("/upload", content=chunks(LIMIT))
        large = await http.post("/upload", content=chunks(LIMIT + 1), headers={"X-Request-ID": "limit-1"})
    assert small.status_code == 204
    assert_413(large, "/upload")


async def test_an_overflow_after_the_response_started_propagates() -> None:
    async def eager(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body", False):
            pass

    app = BodyLimitMiddleware(eager, max_body_bytes=LIMIT)
    async with client(app) as http:
        with pytest.raises(BodyTooLarge):
            await http.post("/upload", content=chunks(LIMIT + 1))


async def test_other_receive_messages_are_passed_on_uncounted() -> None:
    received: list[Message] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(await receive())

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        return None

    await BodyLimitMiddleware(inner, max_body_bytes=0)({"type": "http", "headers": []}, receive, send)
    assert received == [{"type": "http.disconnect"}]


async def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        return None

    await BodyLimitMiddleware(inner, max_body_bytes=0)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]


def test_a_negative_limit_is_refused() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    with pytest.raises(ValueError, match="negative"):
        BodyLimitMiddleware(inner, max_body_bytes=-1)


async def passed(scope: Scope, body: bytes) -> tuple[bool, int]:
    """Whether the application got the server's own ``receive`` and ``send``, and the status it answered."""
    got: list[bool] = []
    status: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    async def inner(scope: Scope, inner_receive: Receive, inner_send: Send) -> None:
        got.append(inner_receive is receive and inner_send is send)
        await inner_receive()
        await inner_send({"type": "http.response.start", "status": 204, "headers": []})
        await inner_send({"type": "http.response.body", "body": b""})

    base: Scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
    await BodyLimitMiddleware(inner, max_body_bytes=LIMIT)({**base, **scope}, receive, send)
    return got == [True], status[0]


@pytest.mark.parametrize("version", ["1.0", "1.1"])
async def test_an_http1_request_that_frames_no_body_is_passed_on_unwrapped(version: str) -> None:
    assert await passed({"http_version": version}, b"") == (True, 204)


@pytest.mark.parametrize(
    ("scope", "status"),
    [
        ({"http_version": "2"}, 413),  # HTTP/2 frames bodies without either header
        ({"http_version": "3"}, 413),
        ({"http_version": "1.1", "headers": [(b"transfer-encoding", b"chunked")]}, 413),
        ({"http_version": "1.1", "headers": [(b"content-length", b"0")]}, 413),  # a lie the count still catches
        ({}, 413),  # no version given: counted
    ],
)
async def test_any_other_request_is_still_counted(scope: Scope, status: int) -> None:
    assert await passed(scope, b"x" * (LIMIT + 1)) == (False, status)
