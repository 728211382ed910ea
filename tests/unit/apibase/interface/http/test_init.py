"""The package's public names compose in the order the app factory uses (see the report / module docstrings)."""

from __future__ import annotations

import importlib

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

import apibase.interface.http as http_package
from apibase.interface.http import (
    ApiVersion,
    BodyLimitMiddleware,
    DeprecationPolicy,
    HealthRegistry,
    JsonOnlyMiddleware,
    RequestIdMiddleware,
    add_compression,
    build_health_router,
    install_problem_handlers,
    mount_versions,
)

pytestmark = pytest.mark.unit


class Note(BaseModel):
    text: str


def build_service() -> FastAPI:
    router = APIRouter()

    @router.post("/notes")
    async def create_note(note: Note) -> Note:
        return note

    @router.get("/notes")
    async def list_notes() -> list[Note]:
        return [Note(text="n" * 20)] * 100

    @router.get("/boom")
    async def boom() -> None:
        raise KeyError("internal")

    app = FastAPI(title="Notes", openapi_url=None, docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    app.include_router(build_health_router(HealthRegistry(), started=lambda: True))
    mount_versions(
        app,
        [
            ApiVersion("v1", routers=[router], deprecated=DeprecationPolicy(successor="/api/v2")),
            ApiVersion("v2", routers=[router]),
        ],
    )
    # add_middleware puts each new middleware outside the previous ones: innermost first.
    app.add_middleware(JsonOnlyMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=1024)
    add_compression(app, minimum_size=500)
    app.add_middleware(RequestIdMiddleware)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t", headers={"Accept-Encoding": "br, gzip"})


async def test_the_stack_serves_versions_health_and_problems_together() -> None:
    async with client(build_service()) as http:
        listed = await http.get("/api/v2/notes")
        created = await http.post("/api/v1/notes", json={"text": "hi"}, headers={"X-Request-ID": "n-1"})
        too_large = await http.post("/api/v2/notes", content=b"{" + b" " * 2000 + b"}")
        not_json = await http.post("/api/v2/notes", content=b"text=hi")
        crashed = await http.get("/api/v2/boom")
        live = await http.get("/health/live")
    assert listed.headers["content-encoding"] == "br"
    assert len(listed.json()) == 100
    assert created.json() == {"text": "hi"}
    assert created.headers["x-request-id"] == "n-1"
    assert created.headers["link"] == '</api/v2>; rel="successor-version"'
    for response, status, code in (
        (too_large, 413, "common.payload_too_large"),
        (not_json, 415, "common.unsupported_media_type"),
        (crashed, 500, "common.internal"),
    ):
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
        assert response.json()["request_id"] == response.headers["x-request-id"]
    assert "internal" not in crashed.json()["detail"]
    assert live.json() == {"status": "ok"}


def test_every_exported_name_exists() -> None:
    for package in ("apibase.interface.http", "apibase.interface.http.middleware"):
        module = importlib.import_module(package)
        assert [name for name in module.__all__ if not hasattr(module, name)] == []
    assert "install_problem_handlers" in http_package.__all__
