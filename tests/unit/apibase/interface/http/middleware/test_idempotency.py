"""Idempotency-Key: a keyed POST/PATCH runs once per caller and key; retries get the first response, byte for byte."""

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.application.in_memory.idempotency import InMemoryIdempotencyStore
from apibase.application.ports.idempotency import (
    BeginOutcome,
    Claimed,
    IdempotencyStore,
    IdempotencyUnavailable,
    StoredResponse,
)
from apibase.core.principal import AuthMethod, Principal
from apibase.interface.http.middleware.idempotency import IdempotencyMiddleware
from apibase.interface.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

pytestmark = pytest.mark.unit

TTL = 60
MAX_STORED = 1024


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Calls:
    """How often each endpoint ran: a replay must not move these."""

    def __init__(self) -> None:
        self.count = 0
        self.started = asyncio.Event()
        self.cancelled = False


class FakePrincipal:
    """Stands in for authentication: ``X-Test-User: tenant/subject`` becomes the scope's principal."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope.get("headers", ()):
            if name == b"x-test-user":
                tenant, subject = value.decode().split("/")
                principal = Principal(subject, tenant, frozenset(), frozenset(), AuthMethod.ACCESS_TOKEN)
                scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def build_app(store: IdempotencyStore, calls: Calls) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(IdempotencyMiddleware, store=store, ttl_seconds=TTL, max_stored_body_bytes=MAX_STORED)
    app.add_middleware(FakePrincipal)

    @app.post("/orders")
    async def create(request: Request) -> Response:
        calls.count += 1
        body = await request.body()
        content = f"{calls.count}:{request.headers.get('content-type')}:{hashlib.sha256(body).hexdigest()}"
        return Response(
            content=content,
            status_code=201,
            media_type="text/plain",
            headers={"Location": f"/orders/{calls.count}", "ETag": f'"{calls.count}"', "Set-Cookie": "s=1"},
        )

    @app.patch("/orders/1")
    async def patch() -> dict[str, int]:
        calls.count += 1
        return {"run": calls.count}

    @app.put("/orders/1")
    async def put() -> dict[str, int]:
        calls.count += 1
        return {"run": calls.count}

    @app.get("/orders")
    async def read() -> dict[str, int]:
        calls.count += 1
        return {"run": calls.count}

    @app.post("/slow")
    async def slow() -> dict[str, int]:
        calls.count += 1
        calls.started.set()
        try:
            await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            calls.cancelled = True
            raise
        return {"run": calls.count}

    @app.post("/status/{code}")
    async def status(code: int) -> Response:
        calls.count += 1
        return Response(content=f"run {calls.count}", status_code=code)

    @app.post("/boom")
    async def boom() -> None:
        calls.count += 1
        raise RuntimeError("handler failed")

    @app.post("/big")
    async def big() -> Response:
        calls.count += 1
        return Response(content=b"x" * (MAX_STORED + 1), media_type="application/octet-stream")

    @app.post("/stream")
    async def stream() -> StreamingResponse:
        calls.count += 1

        async def chunks() -> AsyncIterator[bytes]:
            for part in (b"one,", b"two,", str(calls.count).encode()):
                yield part

        return StreamingResponse(chunks(), media_type="text/csv")

    return app


def client(app: ASGIApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> InMemoryIdempotencyStore:
    return InMemoryIdempotencyStore(clock=clock)


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
async def http(store: InMemoryIdempotencyStore, calls: Calls) -> AsyncIterator[httpx.AsyncClient]:
    async with client(build_app(store, calls)) as http_client:
        yield http_client


def key(value: str = "key-1") -> dict[str, str]:
    return {"Idempotency-Key": value}


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == code


async def test_a_retry_replays_the_first_response_byte_for_byte_without_running_again(
    http: httpx.AsyncClient, calls: Calls
) -> None:
    first = await http.post("/orders", content=b'{"a": 1}', headers={**key(), "Content-Type": "application/json"})
    again = await http.post("/orders", content=b'{"a": 1}', headers={**key(), "Content-Type": "application/json"})

    assert calls.count == 1
    assert first.status_code == again.status_code == 201
    assert first.headers["idempotent-replayed"] == "false"
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    for header in ("content-type", "location", "etag", "content-length"):
        assert again.headers[header] == first.headers[header]
    assert "set-cookie" in first.headers
    assert "set-cookie" not in again.headers


async def test_the_same_key_with_another_body_is_refused_and_does_not_run(
    http: httpx.AsyncClient, calls: Calls
) -> None:
    await http.post("/orders", content=b"one", headers=key())
    reused = await http.post("/orders", content=b"two", headers=key())
    assert_problem(reused, 422, "idempotency.key_reused")
    assert calls.count == 1


async def test_the_query_string_is_part_of_the_fingerprint(http: httpx.AsyncClient, calls: Calls) -> None:
    await http.post("/orders?dry_run=false", content=b"same", headers=key())
    reused = await http.post("/orders?dry_run=true", content=b"same", headers=key())
    assert_problem(reused, 422, "idempotency.key_reused")
    assert calls.count == 1


async def test_keys_are_scoped_by_path_and_method(http: httpx.AsyncClient, calls: Calls) -> None:
    await http.post("/orders", content=b"same", headers=key())
    other_path = await http.post("/stream", content=b"same", headers=key())
    patched = await http.patch("/orders/1", content=b"same", headers=key())
    assert other_path.headers["idempotent-replayed"] == "false"
    assert patched.headers["idempotent-replayed"] == "false"
    assert calls.count == 3


async def test_keys_are_scoped_by_tenant_and_caller(http: httpx.AsyncClient, calls: Calls) -> None:
    alice = {**key(), "X-Test-User": "acme/alice"}
    statuses = [
        (await http.post("/orders", content=b"x", headers=alice)).headers["idempotent-replayed"],
        (await http.post("/orders", content=b"x", headers={**key(), "X-Test-User": "acme/bob"})).headers[
            "idempotent-replayed"
        ],
        (await http.post("/orders", content=b"x", headers={**key(), "X-Test-User": "globex/alice"})).headers[
            "idempotent-replayed"
        ],
        (await http.post("/orders", content=b"x", headers=key())).headers["idempotent-replayed"],
        (await http.post("/orders", content=b"x", headers=alice)).headers["idempotent-replayed"],
    ]
    assert statuses == ["false", "false", "false", "false", "true"]
    assert calls.count == 4


async def test_a_concurrent_duplicate_gets_409_and_the_handler_runs_once(http: httpx.AsyncClient, calls: Calls) -> None:
    first, second = await asyncio.gather(
        http.post("/slow", content=b"{}", headers=key()), http.post("/slow", content=b"{}", headers=key())
    )
    winner, loser = (first, second) if first.status_code == 200 else (second, first)
    assert winner.status_code == 200
    assert_problem(loser, 409, "idempotency.in_progress")
    assert loser.headers["retry-after"] == "1"
    assert calls.count == 1
    later = await http.post("/slow", content=b"{}", headers=key())
    assert later.headers["idempotent-replayed"] == "true"
    assert later.content == winner.content
    assert calls.count == 1


@pytest.mark.parametrize("status", [500, 503, 408, 409, 425, 429])
async def test_failed_or_retryable_answers_release_the_key(http: httpx.AsyncClient, calls: Calls, status: int) -> None:
    first = await http.post(f"/status/{status}", headers=key())
    retry = await http.post(f"/status/{status}", headers=key())
    assert (first.status_code, retry.status_code) == (status, status)
    assert retry.headers["idempotent-replayed"] == "false"
    assert retry.text == "run 2"
    assert calls.count == 2


@pytest.mark.parametrize("status", [200, 202, 400, 404, 422])
async def test_final_answers_are_kept_including_client_errors(
    http: httpx.AsyncClient, calls: Calls, status: int
) -> None:
    await http.post(f"/status/{status}", headers=key())
    retry = await http.post(f"/status/{status}", headers=key())
    assert retry.status_code == status
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.text == "run 1"
    assert calls.count == 1


async def test_a_kept_204_is_replayed_without_a_content_length(http: httpx.AsyncClient, calls: Calls) -> None:
    await http.post("/status/204", headers=key())
    retry = await http.post("/status/204", headers=key())
    assert retry.status_code == 204
    assert retry.headers["idempotent-replayed"] == "true"
    assert "content-length" not in retry.headers
    assert calls.count == 1


async def test_an_exception_releases_the_key(http: httpx.AsyncClient, calls: Calls) -> None:
    first = await http.post("/boom", headers=key())
    retry = await http.post("/boom", headers=key())
    assert first.status_code == retry.status_code == 500
    assert calls.count == 2


async def test_a_cancelled_request_releases_the_key(store: InMemoryIdempotencyStore, calls: Calls) -> None:
    app = build_app(store, calls)
    async with client(app) as http:
        task = asyncio.create_task(http.post("/slow", headers=key()))
        await calls.started.wait()
        assert len(store) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert calls.cancelled
        assert len(store) == 0
        retry = await http.post("/slow", headers=key())
    assert retry.status_code == 200
    assert calls.count == 2


async def test_non_json_and_large_bodies_reach_the_handler_unchanged(http: httpx.AsyncClient) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB of every byte value
    response = await http.post("/orders", content=body, headers={**key(), "Content-Type": "application/octet-stream"})
    assert response.text == f"1:application/octet-stream:{hashlib.sha256(body).hexdigest()}"
    replay = await http.post("/orders", content=body, headers={**key(), "Content-Type": "application/octet-stream"})
    assert replay.content == response.content


async def test_a_chunked_request_body_is_read_whole(http: httpx.AsyncClient) -> None:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"a" * 10, b"b" * 10, b"c"):
            yield part

    response = await http.post("/orders", content=parts(), headers=key())
    assert response.text.endswith(hashlib.sha256(b"a" * 10 + b"b" * 10 + b"c").hexdigest())


async def test_a_streamed_response_is_kept_whole(http: httpx.AsyncClient, calls: Calls) -> None:
    first = await http.post("/stream", headers=key())
    retry = await http.post("/stream", headers=key())
    assert first.content == retry.content == b"one,two,1"
    assert retry.headers["content-type"].startswith("text/csv")
    assert calls.count == 1


async def test_a_response_too_large_to_keep_is_answered_but_never_run_again(
    http: httpx.AsyncClient, calls: Calls
) -> None:
    first = await http.post("/big", headers=key())
    retry = await http.post("/big", headers=key())
    assert first.status_code == 200
    assert len(first.content) == MAX_STORED + 1
    assert_problem(retry, 409, "idempotency.response_not_stored")
    assert calls.count == 1


async def test_an_expired_key_runs_again(http: httpx.AsyncClient, calls: Calls, clock: Clock) -> None:
    await http.post("/orders", content=b"x", headers=key())
    clock.now += TTL + 1
    again = await http.post("/orders", content=b"x", headers=key())
    assert again.headers["idempotent-replayed"] == "false"
    assert calls.count == 2


async def test_get_put_and_unkeyed_requests_pass_through_untouched(
    http: httpx.AsyncClient, calls: Calls, store: InMemoryIdempotencyStore
) -> None:
    responses = [
        await http.get("/orders", headers=key()),
        await http.get("/orders", headers=key()),
        await http.put("/orders/1", headers=key()),
        await http.post("/orders", content=b"x"),
        await http.post("/orders", content=b"x"),
    ]
    assert all("idempotent-replayed" not in response.headers for response in responses)
    assert calls.count == 5
    assert len(store) == 0


@pytest.mark.parametrize(
    "value",
    ["", " ", "a b", "x" * 256, "caf\u00e9", "tab\there"],
    ids=["empty", "space", "inner-space", "too-long", "non-ascii", "control"],
)
async def test_malformed_keys_are_refused_before_the_handler_runs(
    http: httpx.AsyncClient, calls: Calls, value: str
) -> None:
    response = await http.post("/orders", content=b"x", headers=[(b"Idempotency-Key", value.encode("latin-1"))])
    assert_problem(response, 400, "idempotency.invalid_key")
    assert calls.count == 0


async def test_two_key_headers_are_refused(http: httpx.AsyncClient, calls: Calls) -> None:
    response = await http.post("/orders", content=b"x", headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b")])
    assert_problem(response, 400, "idempotency.invalid_key")
    assert calls.count == 0


async def test_the_longest_and_odd_but_visible_keys_are_accepted(http: httpx.AsyncClient, calls: Calls) -> None:
    for value in ("k" * 255, "!~|:/\"'{}"):
        response = await http.post("/orders", content=b"x", headers=key(value))
        assert response.status_code == 201
    assert calls.count == 2


class BrokenStore:
    """The store is down: every call fails as an adapter reports an outage."""

    async def begin(self, key: str, fingerprint: str, lease_seconds: int) -> BeginOutcome:
        raise IdempotencyUnavailable("down")

    async def complete(self, claim: Claimed, response: StoredResponse, ttl_seconds: int) -> None:
        raise IdempotencyUnavailable("down")

    async def release(self, claim: Claimed) -> None:
        raise IdempotencyUnavailable("down")


async def test_a_store_outage_fails_keyed_requests_closed_and_leaves_others_alone(calls: Calls) -> None:
    async with client(build_app(BrokenStore(), calls)) as http:
        keyed = await http.post("/orders", content=b"x", headers=key())
        unkeyed = await http.post("/orders", content=b"x")
    assert_problem(keyed, 503, "idempotency.unavailable")
    assert unkeyed.status_code == 201
    assert calls.count == 1


class ForgetfulStore(InMemoryIdempotencyStore):
    """Claims work, but keeping or releasing fails (the store went down mid-request)."""

    async def complete(self, claim: Claimed, response: StoredResponse, ttl_seconds: int) -> None:
        raise IdempotencyUnavailable("down")

    async def release(self, claim: Claimed) -> None:
        raise IdempotencyUnavailable("down")


@pytest.mark.parametrize("path", ["/orders", "/status/500"])
async def test_a_store_failure_after_the_handler_ran_still_delivers_its_response(
    calls: Calls, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    store = ForgetfulStore()
    with caplog.at_level(logging.WARNING):
        async with client(build_app(store, calls)) as http:
            response = await http.post(path, content=b"x", headers=key())
            retry = await http.post(path, content=b"x", headers=key())
    assert response.status_code in (201, 500)
    assert response.headers["idempotent-replayed"] == "false"
    assert_problem(retry, 409, "idempotency.in_progress")  # the claim lapses with its lease
    assert calls.count == 1
    assert "idempotency key" in caplog.text


async def test_a_client_that_disconnects_before_its_body_runs_nothing(
    store: InMemoryIdempotencyStore, calls: Calls
) -> None:
    app = build_app(store, calls)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/orders",
        "raw_path": b"/orders",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"idempotency-key", b"k")],
        "server": ("t", 80),
        "client": ("127.0.0.1", 1),
    }
    await app(scope, receive, send)
    assert sent == []
    assert calls.count == 0
    assert len(store) == 0


def test_the_middleware_refuses_nonsense_settings() -> None:
    store = InMemoryIdempotencyStore()
    with pytest.raises(ValueError, match="at least 1"):
        IdempotencyMiddleware(FastAPI(), store=store, ttl_seconds=0)
    with pytest.raises(ValueError, match="at least 1"):
        IdempotencyMiddleware(FastAPI(), store=store, ttl_seconds=60, lease_seconds=0)
    with pytest.raises(ValueError, match="negative"):
        IdempotencyMiddleware(FastAPI(), store=store, ttl_seconds=60, max_stored_body_bytes=-1)
