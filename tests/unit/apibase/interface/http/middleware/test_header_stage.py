"""The header stage puts on every answer exactly the headers the layers' own ``send`` wrappers put there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from enum import StrEnum

import httpx
import pytest
from fastapi import FastAPI, Request
from limits.aio.storage import MemoryStorage
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.application.in_memory.audit import InMemoryAuditLog
from apibase.core.errors import AppError, DependencyUnavailable
from apibase.core.principal import Principal
from apibase.core.result import Err, Result
from apibase.interface.http.middleware.header_stage import HeaderEdit, HeaderStageMiddleware, with_header_edit
from apibase.interface.http.middleware.security_headers import SecurityHeadersSettings
from apibase.interface.http.middleware.stack import (
    Authentication,
    MiddlewareStack,
    RateLimits,
    Tenancy,
    active_layers,
)
from apibase.interface.http.problems import install_problem_handlers

pytestmark = pytest.mark.unit


def appending(name: bytes) -> HeaderEdit:
    def edit(headers: list[tuple[bytes, bytes]]) -> None:
        headers.append((name, b"1"))

    return edit


async def answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def layer(name: bytes, app: ASGIApp) -> ASGIApp:
    async def call(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, with_header_edit(scope, send, appending(name)))

    return call


async def sent(app: ASGIApp, scope: Scope) -> list[Message]:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    return messages


async def test_edits_are_applied_innermost_first_as_nested_wrappers_apply_them() -> None:
    nested = layer(b"outer", layer(b"inner", answer))
    staged = HeaderStageMiddleware(nested)
    alone = await sent(nested, {"type": "http"})
    with_stage = await sent(staged, {"type": "http"})
    assert alone == with_stage
    assert with_stage[0]["headers"] == [(b"content-type", b"text/plain"), (b"inner", b"1"), (b"outer", b"1")]
    assert with_stage[1] == {"type": "http.response.body", "body": b"ok"}


async def test_a_layer_under_the_stage_does_not_wrap_send() -> None:
    seen: list[Send] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(with_header_edit(scope, send, appending(b"x")))
        seen.append(send)
        await answer(scope, receive, send)

    await sent(HeaderStageMiddleware(app), {"type": "http"})
    assert seen[0] is seen[1]


async def nobody(credential: str) -> Result[Principal, AppError[StrEnum]]:
    return Err(DependencyUnavailable("not in this test"))


def stack() -> MiddlewareStack:
    return MiddlewareStack(
        tenancy=Tenancy(header="X-Org", default_tenant="acme"),
        authentication=Authentication(access_tokens=nobody, api_keys=nobody),
        audit_log=InMemoryAuditLog(),
        security_headers=SecurityHeadersSettings(hsts_force=True),
        compression_minimum_bytes=10,
        timeout_seconds=0.05,
        max_body_bytes=16,
        api_versions=("v1",),
        upload_paths=(),
        delivery_path_prefixes=(),
        metrics=None,
        trace_routes=False,
        cors=None,
        rate_limits=RateLimits(
            storage=MemoryStorage(),
            client_limit="7/hour",
            user_limit="7/hour",
            login_limit="2/hour",
            route_limits={},
            strategy="fixed-window",
            trusted_proxy_hops=0,
        ),
        request_signing=None,
        idempotency=None,
    )


def service(*, stage: bool) -> FastAPI:
    """A small app behind the whole stack, with the header stage or with each layer wrapping ``send`` itself."""
    app = FastAPI()
    install_problem_handlers(app)
    layers = [middleware for name, middleware in active_layers(stack()) if stage or name != "header_stage"]
    app.user_middleware = [*layers, *app.user_middleware]

    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/stuck")
    async def stuck() -> None:
        await asyncio.Event().wait()  # never set: the timeout answers 504

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    return app


async def streamed(size: int) -> AsyncIterator[bytes]:
    yield b"x" * size  # no Content-Length: only the byte count can refuse it


REQUESTS: list[tuple[str, str, dict[str, object]]] = [
    ("GET", "/ok", {}),
    ("GET", "/ok", {"headers": {"Authorization": "Bearer forged"}}),  # refused by authentication (503 here)
    ("GET", "/stuck", {}),  # 504 from the timeout, after calling inwards
    ("POST", "/echo", {"content": b"x" * 64, "headers": {"content-type": "application/json"}}),  # 413 declared
    ("POST", "/echo", {"stream": 64, "headers": {"content-type": "application/json"}}),  # 413 streamed
    ("GET", "/missing", {}),
    ("GET", "/boom", {}),  # 500 from Starlette's error middleware, outside the stack: none of its headers
    ("GET", "/ok", {}),  # the eighth request of the client's budget of seven: 429
]


async def answers(app: FastAPI) -> list[tuple[int, list[tuple[str, str]]]]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    results = []
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for method, path, options in REQUESTS:
            extra = dict(options)
            headers = {"X-Request-ID": "fixed-id", **extra.pop("headers", {})}  # type: ignore[dict-item]
            if "stream" in extra:
                extra["content"] = streamed(extra.pop("stream"))  # type: ignore[arg-type]
            response = await client.request(method, path, headers=headers, **extra)  # type: ignore[arg-type]
            # Sorted: the rate-limit headers now follow what compression (between two header layers) changes.
            headers_sent = response.headers.items()
            listed = sorted((name, "<reset>" if name == "ratelimit-reset" else value) for name, value in headers_sent)
            results.append((response.status_code, listed))
    return results


async def test_the_stage_changes_no_answer_of_the_whole_stack() -> None:
    staged, wrapped = await answers(service(stage=True)), await answers(service(stage=False))
    assert [status for status, _ in staged] == [200, 503, 504, 413, 413, 404, 500, 429]
    assert staged == wrapped
    for status, headers in staged:
        names = {name for name, _ in headers}
        if status != 500:
            assert {"x-request-id", "x-correlation-id", "x-frame-options", "ratelimit-remaining"} <= names
