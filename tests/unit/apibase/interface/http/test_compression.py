"""Responses are compressed with the coding the client prefers (brotli, then gzip) above a size threshold."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from starlette.middleware.gzip import GZipResponder
from starlette.types import Message, Receive, Scope, Send

from apibase.interface.http.compression import CompressionMiddleware, add_compression, negotiate_encoding

pytestmark = pytest.mark.unit

LARGE = [{"id": index, "name": f"widget {index}", "price": index * 1.5} for index in range(200)]


def build_app(minimum_size: int = 500) -> FastAPI:
    app = FastAPI()
    add_compression(app, minimum_size=minimum_size)

    @app.get("/large")
    async def large() -> list[dict[str, object]]:
        return LARGE

    @app.get("/small")
    async def small() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def get(path: str, accept_encoding: str | None, app: FastAPI | None = None) -> httpx.Response:
    async with client(app or build_app()) as http:
        request = http.build_request("GET", path)
        if accept_encoding is None:
            del request.headers["accept-encoding"]
        else:
            request.headers["accept-encoding"] = accept_encoding
        return await http.send(request)


async def test_large_json_is_brotli_compressed_when_brotli_is_accepted() -> None:
    response = await get("/large", "gzip, deflate, br")
    assert response.headers["content-encoding"] == "br"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert int(response.headers["content-length"]) < len(response.content) / 3
    assert response.json() == LARGE  # httpx decodes br with the brotli package


async def test_large_json_is_gzip_compressed_when_only_gzip_is_accepted() -> None:
    response = await get("/large", "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert response.json() == LARGE


@pytest.mark.parametrize("accept_encoding", ["br", "gzip", None, "identity"])
async def test_small_responses_are_not_compressed(accept_encoding: str | None) -> None:
    response = await get("/small", accept_encoding)
    assert "content-encoding" not in response.headers
    assert response.json() == {"ok": "yes"}


async def test_without_an_acceptable_coding_the_body_is_sent_as_is() -> None:
    response = await get("/large", None)
    assert "content-encoding" not in response.headers
    assert response.json() == LARGE
    refused = await get("/large", "br;q=0, gzip;q=0")
    assert "content-encoding" not in refused.headers


async def test_q_values_are_honoured() -> None:
    prefers_gzip = await get("/large", "br;q=0.5, gzip;q=1")
    refuses_br = await get("/large", "br;q=0, *")
    assert prefers_gzip.headers["content-encoding"] == "gzip"
    assert refuses_br.headers["content-encoding"] == "gzip"


async def test_the_threshold_is_configurable() -> None:
    response = await get("/small", "br", build_app(minimum_size=1))
    assert response.headers["content-encoding"] == "br"


async def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        return None

    await CompressionMiddleware(inner)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("identity", None),
        ("deflate", None),
        ("br", "br"),
        ("gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("GZIP, BR", "br"),
        ("gzip, br", "br"),
        ("gzip;q=1.0, br;q=0.9", "gzip"),
        ("br;q=0.5, gzip;q=0.5", "br"),
        ("br;q=0", None),
        ("br;q=0, gzip", "gzip"),
        ("*", "br"),
        ("*;q=0", None),
        ("*;q=0.1, br;q=0", "gzip"),
        ("br;q=abc, gzip", "gzip"),
        ("br;q=nan, gzip", "gzip"),
        ("br;q=2, gzip", "gzip"),
        ("br;level=5;q=0.2, gzip;q=0.1", "br"),
        ("br, br;q=0", "br"),
        (" , ,br", "br"),
    ],
)
def test_negotiate_encoding(header: str | None, expected: str | None) -> None:
    assert negotiate_encoding(header) == expected


async def send_through(
    messages: list[Message], accept_encoding: bytes | None, minimum_size: int = 500
) -> list[Message]:
    """What ``CompressionMiddleware`` sends for an application that sends ``messages``."""

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(dict(message))

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [] if accept_encoding is None else [(b"accept-encoding", accept_encoding)]
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    await CompressionMiddleware(inner, minimum_size=minimum_size)(scope, receive, send)
    return sent


def start(length: int | None) -> Message:
    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http.response.start", "status": 200, "headers": headers}


@pytest.mark.parametrize("accept_encoding", [b"br", b"gzip", None])
async def test_a_small_declared_and_whole_response_goes_out_untouched(accept_encoding: bytes | None) -> None:
    body = {"type": "http.response.body", "body": b"x" * 10}
    sent = await send_through([start(10), body], accept_encoding)
    assert sent == [start(10), body]


@pytest.mark.parametrize(("accept_encoding", "coding"), [(b"br", "br"), (b"gzip", "gzip")])
async def test_a_small_declared_length_does_not_spare_a_large_or_streamed_body(
    accept_encoding: bytes, coding: str
) -> None:
    """The declared length only skips the responder when the body then comes whole and small, as declared."""
    lying = await send_through([start(10), {"type": "http.response.body", "body": b"x" * 2000}], accept_encoding)
    streamed = await send_through(
        [
            start(10),
            {"type": "http.response.body", "body": b"x" * 5, "more_body": True},
            {"type": "http.response.body", "body": b"x" * 5},
        ],
        accept_encoding,
    )
    for sent in (lying, streamed):
        assert (b"content-encoding", coding.encode()) in sent[0]["headers"]


@pytest.mark.parametrize("length", [None, 2000])
async def test_a_large_or_undeclared_length_goes_to_the_responder(length: int | None) -> None:
    sent = await send_through([start(length), {"type": "http.response.body", "body": b"x" * 2000}], b"gzip")
    assert (b"content-encoding", b"gzip") in sent[0]["headers"]
    identity = await send_through([start(length), {"type": "http.response.body", "body": b"x" * 2000}], None)
    assert (b"vary", b"Accept-Encoding") in identity[0]["headers"]
    assert identity[1]["body"] == b"x" * 2000


async def test_a_held_start_then_anything_but_a_body_is_the_responders_business() -> None:
    trailers: Message = {"type": "http.response.trailers", "headers": [], "more_trailers": False}
    library: list[Message] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(10))
        await send(dict(trailers))

    async def collect(message: Message) -> None:
        library.append(message)

    responder = GZipResponder(inner, 500)
    await responder({"type": "http", "headers": []}, collect, collect)
    assert await send_through([start(10), trailers], b"gzip") == library


async def test_no_responder_is_built_for_a_small_whole_response(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building one (a compressor, buffers) for a body that stays as is would be the layer's whole cost."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("no responder expected")

    for name in ("BrotliResponder", "GZipResponder", "IdentityResponder"):
        monkeypatch.setattr(f"apibase.interface.http.compression.{name}", refuse)
    for accept_encoding in (b"br", b"gzip", None):
        sent = await send_through([start(2), {"type": "http.response.body", "body": b"{}"}], accept_encoding)
        assert sent[1]["body"] == b"{}"
