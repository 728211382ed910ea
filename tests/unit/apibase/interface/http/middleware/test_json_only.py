"""API writes take JSON (application/json or application/*+json); other bodies get a 415 problem."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.types import Message, Receive, Scope, Send

from apibase.interface.http.middleware.json_only import JsonOnlyMiddleware, is_json_media_type
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

pytestmark = pytest.mark.unit


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(JsonOnlyMiddleware)
    app.add_middleware(RequestIdMiddleware)

    @app.api_route("/api/v1/widgets", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def widgets(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize(
    ("method", "accept_header", "accepted"),
    [
        ("POST", "accept-post", "application/json"),
        ("PATCH", "accept-patch", "application/json, application/merge-patch+json"),
        ("PUT", None, None),
    ],
)
async def test_a_non_json_body_is_a_415_problem(method: str, accept_header: str | None, accepted: str | None) -> None:
    async with client(build_app()) as http:
        response = await http.request(
            method,
            "/api/v1/widgets",
            content=b"name=x",
            headers={"Content-Type": "application/x-www-form-urlencoded", "X-Request-ID": "json-1"},
        )
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["code"] == "common.unsupported_media_type"
    assert body["instance"] == "/api/v1/widgets"
    assert body["request_id"] == response.headers["x-request-id"] == "json-1"
    if accept_header is None:
        assert "accept-post" not in response.headers
        assert "accept-patch" not in response.headers
    else:
        assert response.headers[accept_header] == accepted


async def test_a_body_without_content_type_is_refused() -> None:
    async with client(build_app()) as http:
        response = await http.post("/api/v1/widgets", content=b"{}")
    assert response.status_code == 415


async def test_a_chunked_body_counts_as_a_body() -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b"<xml/>"

    async with client(build_app()) as http:
        response = await http.post("/api/v1/widgets", content=stream(), headers={"Content-Type": "text/xml"})
    assert response.status_code == 415


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/merge-patch+json", "APPLICATION/VND.A+JSON"],
)
async def test_json_bodies_pass(content_type: str) -> None:
    async with client(build_app()) as http:
        response = await http.patch("/api/v1/widgets", content=b"{}", headers={"Content-Type": content_type})
    assert response.json() == {"size": 2}


async def test_requests_without_a_body_other_methods_and_other_paths_pass() -> None:
    async with client(build_app()) as http:
        no_body = await http.post("/api/v1/widgets", headers={"Content-Type": "text/plain"})
        zero = await http.post("/api/v1/widgets", content=b"", headers={"Content-Type": "text/plain"})
        read = await http.request("DELETE", "/api/v1/widgets", content=b"x", headers={"Content-Type": "text/plain"})
        other_path = await http.post("/upload", content=b"raw", headers={"Content-Type": "text/plain"})
    assert no_body.status_code == zero.status_code == read.status_code == other_path.status_code == 200


async def test_the_paths_and_methods_are_configurable() -> None:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(JsonOnlyMiddleware, path_prefixes=["/rpc"], methods=["delete"])

    @app.delete("/rpc/call")
    async def call() -> None:
        return None

    async with client(app) as http:
        response = await http.request("DELETE", "/rpc/call", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


async def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        return None

    await JsonOnlyMiddleware(inner)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        (" Application/JSON ;charset=utf-8", True),
        ("application/problem+json", True),
        ("application/merge-patch+json", True),
        ("application/+json", False),
        ("application/jsonx", False),
        ("text/json", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("", False),
        (None, False),
    ],
)
def test_is_json_media_type(content_type: str | None, expected: bool) -> None:
    assert is_json_media_type(content_type) is expected
