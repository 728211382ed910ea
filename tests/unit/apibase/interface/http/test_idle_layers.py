"""FastAPI's pass-through layers leave the stacks; what they would have done is still done."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi._body_limit import AppBodyLimitMiddleware
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.interface.http.idle_layers import drop_idle_layers
from apibase.interface.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from apibase.interface.http.versioning import (
    ApiVersion,
    DeprecationHeadersMiddleware,
    DeprecationPolicy,
    mount_versions,
)

pytestmark = pytest.mark.unit

closed: list[str] = []
router = APIRouter()


@router.get("/files")
async def files(request: Request) -> dict[str, bool]:
    """What FastAPI does with an uploaded file: hand its closing to the request's exit stack."""
    request.scope["fastapi_middleware_astack"].callback(closed.append, "file")
    return {"ok": True}


@router.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


@router.get("/crash")
async def crash() -> None:
    raise RuntimeError("crash")


def layers(app: FastAPI) -> list[type]:
    """The layer types of ``app``'s stack, outermost first, down to its router."""
    found: list[type] = []
    layer: object = app.build_middleware_stack()
    while not isinstance(layer, Router):
        found.append(type(layer))
        layer = layer.app
    return found


class StatusSeen:
    """An outer user middleware: records the status of every response it forwards."""

    statuses: ClassVar[list[int]] = []

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def seen(message: Message) -> None:
            if message["type"] == "http.response.start":
                StatusSeen.statuses.append(message["status"])
            await send(message)

        await self.app(scope, receive, seen)


def service(max_body_size: int | None = None) -> tuple[FastAPI, FastAPI]:
    root = FastAPI(max_body_size=max_body_size)
    install_problem_handlers(root)
    drop_idle_layers(root)
    root.add_middleware(StatusSeen)
    policy = DeprecationPolicy(sunset=date(2030, 1, 1))
    versions = mount_versions(root, [ApiVersion("v1", routers=[router], deprecated=policy)])
    return root, versions["v1"]


def test_the_root_keeps_every_layer_but_the_idle_body_limit() -> None:
    root, _ = service()
    assert layers(root) == [
        ServerErrorMiddleware,
        ExceptionTelemetryMiddleware,
        StatusSeen,
        ExceptionMiddleware,
        AsyncExitStackMiddleware,
    ]


def test_a_mounted_version_runs_only_its_error_headers_and_exception_layers() -> None:
    _, v1 = service()
    assert layers(v1) == [
        ServerErrorMiddleware,
        ExceptionTelemetryMiddleware,
        DeprecationHeadersMiddleware,
        ExceptionMiddleware,
    ]


def test_a_body_size_limit_keeps_fastapis_layer_in_both() -> None:
    root, v1 = service(max_body_size=8)
    assert AppBodyLimitMiddleware in layers(root)
    assert AppBodyLimitMiddleware in layers(v1)


def test_an_app_used_alone_keeps_its_stack() -> None:
    alone = FastAPI()
    drop_idle_layers(alone, mounted_in=None)
    assert AsyncExitStackMiddleware in layers(alone)


async def test_files_of_a_mounted_version_are_closed_by_the_roots_exit_stack() -> None:
    root, _ = service()
    closed.clear()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=root), base_url="http://t") as client:
        response = await client.get("/api/v1/files")
    assert response.status_code == 200
    assert response.headers["deprecation"]
    assert closed == ["file"]


async def test_a_crash_in_a_mounted_version_is_a_500_problem_the_outer_layers_see() -> None:
    root, _ = service()
    StatusSeen.statuses.clear()
    transport = httpx.ASGITransport(app=root, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert StatusSeen.statuses == [500]


async def test_a_limit_on_the_root_still_refuses_a_large_body_to_a_mounted_version() -> None:
    root, _ = service(max_body_size=8)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=root), base_url="http://t") as client:
        response = await client.post("/api/v1/echo", content=b"x" * 64)
    assert response.status_code == 413
