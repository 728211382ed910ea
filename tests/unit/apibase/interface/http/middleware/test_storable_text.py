"""StorableTextMiddleware: U+0000 anywhere a client puts text is a 422 naming where, and nothing else changes."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, Header, Request

from apibase.interface.http.middleware.storable_text import StorableTextMiddleware
from apibase.interface.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

pytestmark = pytest.mark.unit


def build_app() -> FastAPI:
    root = FastAPI()
    install_problem_handlers(root)
    api = FastAPI()

    @api.api_route("/notes/{note_id}", methods=["GET", "POST"])
    async def note(note_id: str, request: Request, x_note: str | None = Header(default=None)) -> dict[str, object]:
        return {"id": note_id, "body": (await request.body()).decode(), "note": x_note}

    root.mount("/api/v2", api)
    root.add_middleware(StorableTextMiddleware)
    return root


async def send(method: str, url: str, **options: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app()), base_url="http://t") as http:
        return await http.request(method, url, **options)  # type: ignore[arg-type]


def error_locations(response: httpx.Response) -> list[list[object]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["code"] == "common.validation_failed"
    assert "U+0000" in body["detail"]
    assert {error["type"] for error in body["errors"]} == {"text.nul_character"}
    return [error["loc"] for error in body["errors"]]


async def test_a_nul_in_a_query_parameter_names_the_parameter() -> None:
    response = await send("GET", "/api/v2/notes/a?name__contains=%00&plain=ok&x%00y=1")
    assert error_locations(response) == [["query", "name__contains"], ["query", "x\x00y"]]


async def test_a_nul_in_a_header_names_the_header() -> None:
    scope_headers = [("x-note", "a\x00b")]
    assert error_locations(await send("GET", "/api/v2/notes/a", headers=scope_headers)) == [["header", "x-note"]]


async def test_a_nul_in_a_json_body_names_every_field_once() -> None:
    content = b'{"name": "nul \\u0000 here", "lines": [{"note": "ok"}, {"note": "\\u0000"}], "k\\u0000": 1}'
    response = await send("POST", "/api/v2/notes/a", content=content, headers={"Content-Type": "application/json"})
    assert error_locations(response) == [["body", "name"], ["body", "lines", 1, "note"], ["body", "k\x00"]]


@pytest.mark.parametrize(
    "content",
    [
        b'{"path": "C:\\\\u0000"}',  # an escaped backslash followed by the letters u0000: no NUL at all
        b'{"broken": "\\u0000"',  # not JSON: left to the application (a real endpoint answers 400)
        b'{"emoji": "\\ud83d\\ude00", "plain": "text"}',
    ],
)
async def test_other_json_bodies_reach_the_application_unchanged(content: bytes) -> None:
    response = await send("POST", "/api/v2/notes/a", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["body"] == content.decode()


async def test_binary_bodies_are_not_inspected() -> None:
    content = b"\x00\x01binary"
    response = await send("POST", "/api/v2/notes/a", content=content, headers={"Content-Type": "image/png"})
    assert response.status_code == 200
