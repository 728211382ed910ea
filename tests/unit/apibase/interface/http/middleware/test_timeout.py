"""A request with no response by the deadline is cancelled and answered 504; a started response is left alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from apibase.core.error_codes import CommonErrorCode
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.middleware.timeout import TimeoutMiddleware, request_timeout_problem
from apibase.interface.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

pytestmark = pytest.mark.unit

TIMEOUT = 0.05


class Probe:
    def __init__(self) -> None:
        self.cancelled = False
        self.finished = False


def build_app(probe: Probe) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(TimeoutMiddleware, timeout_seconds=TIMEOUT, exempt_path_prefixes=("/slow-ok",))
    app.add_middleware(RequestIdMiddleware)

    @app.get("/fast")
    async def fast() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            probe.cancelled = True
            raise
        finally:
            probe.finished = True
        return {"ok": True}

    @app.get("/slow-ok")
    async def slow_exempt() -> dict[str, bool]:
        await asyncio.sleep(TIMEOUT * 3)
        return {"ok": True}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(3):
                await asyncio.sleep(TIMEOUT)  # longer in total than the deadline, but started in time
                yield b"chunk;"

        return StreamingResponse(body(), media_type="text/plain")

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_fast_request_is_untouched() -> None:
    async with client(build_app(Probe())) as http:
        response = await http.get("/fast")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


async def test_a_slow_request_is_cancelled_and_answered_504() -> None:
    probe = Probe()
    async with client(build_app(probe)) as http:
        response = await http.get("/slow")
    assert response.status_code == 504
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["code"] == CommonErrorCode.REQUEST_TIMEOUT.value
    assert body["status"] == 504
    assert body["instance"] == "/slow"
    assert body["request_id"] == response.headers["x-request-id"]
    assert probe.cancelled
    assert probe.finished


async def test_a_streaming_response_that_started_in_time_runs_to_the_end() -> None:
    async with client(build_app(Probe())) as http:
        response = await http.get("/stream")
    assert response.status_code == 200
    assert response.text == "chunk;chunk;chunk;"


async def test_exempt_paths_have_no_deadline() -> None:
    async with client(build_app(Probe())) as http:
        response = await http.get("/slow-ok")
    assert response.status_code == 200


def http_scope(path: str = "/raw") -> Scope:
    return {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}


async def no_body() -> Message:
    return {"type": "http.request", "body": b""}


async def test_the_applications_own_timeout_error_is_not_mistaken_for_the_deadline() -> None:
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise TimeoutError("the application's own")

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(TimeoutError, match="application's own"):
        await TimeoutMiddleware(app, timeout_seconds=TIMEOUT)(http_scope(), no_body, send)
    assert sent == []  # left to the server-error handler, not answered as a 504


async def test_an_app_swallowing_the_cancellation_still_gets_its_504() -> None:
    sent: list[Message] = []

    async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return  # swallows it: bad manners, but the client still deserves an answer

    async def send(message: Message) -> None:
        sent.append(message)

    await TimeoutMiddleware(stubborn, timeout_seconds=TIMEOUT)(http_scope(), no_body, send)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 504


async def test_the_deadline_is_lifted_once_the_response_starts() -> None:
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": True})

    async def slow_send(message: Message) -> None:
        sent.append(message)
        await asyncio.sleep(10)  # the server is slow to take the start; the deadline passes meanwhile

    middleware = TimeoutMiddleware(app, timeout_seconds=TIMEOUT)
    # the response started in time, so the deadline is lifted: the slow send is not cancelled by us
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(TIMEOUT * 4):
            await middleware(http_scope(), no_body, slow_send)
    assert [message["type"] for message in sent] == ["http.response.start"]


async def test_a_deadline_that_fires_as_the_response_starts_reraises_instead_of_answering_twice() -> None:
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(10)  # the deadline fires here ...
        except asyncio.CancelledError:
            await send({"type": "http.response.start", "status": 200, "headers": []})  # ... as it starts to answer
            raise

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(TimeoutError):
        await TimeoutMiddleware(app, timeout_seconds=TIMEOUT)(http_scope(), no_body, send)
    assert [message["status"] for message in sent] == [200]


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def send(message: Message) -> None:
        raise AssertionError("nothing to send")

    await TimeoutMiddleware(app, timeout_seconds=TIMEOUT)({"type": "lifespan"}, no_body, send)
    assert seen == ["lifespan"]


def test_the_timeout_must_be_positive() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("not called")

    with pytest.raises(ValueError, match="positive"):
        TimeoutMiddleware(app, timeout_seconds=0)


def test_the_problem_names_the_deadline() -> None:
    problem = request_timeout_problem(2.5, instance="/x")
    assert problem.status == 504
    assert problem.code == "common.request_timeout"
    assert problem.detail is not None
    assert "2.5 seconds" in problem.detail
