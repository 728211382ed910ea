"""Product image uploads: size, declared type AND content, markup refused, safe serving, and file-name safety."""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from apibase.application.ports.files import FileStore
from apibase.core.errors import AnyAppError, NotFoundError, ValidationFailed
from apibase.core.principal import AuthMethod, Principal
from apibase.core.result import Err, Ok, Result
from apibase.infrastructure.files import LocalFileStore
from apibase.interface.http.problems import install_problem_handlers
from shop.catalog.domain.permissions import PRODUCTS_READ, PRODUCTS_WRITE
from shop.catalog.domain.product import ProductId
from shop.catalog.interface.images import (
    DEFAULT_UPLOAD_TYPES,
    PRODUCT_IMAGE_PATH,
    UploadPolicy,
    detect_media_types,
    product_image_router,
    safe_filename,
)

pytestmark = pytest.mark.unit

MAX_BYTES = 4096


def png(extra: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"") + extra


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32 + b"\xff\xd9"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'

WRITER = Principal(
    subject="editor",
    tenant="acme",
    roles=frozenset(),
    permissions=frozenset({PRODUCTS_READ, PRODUCTS_WRITE}),
    method=AuthMethod.ACCESS_TOKEN,
)
READER = Principal(
    subject="viewer",
    tenant="acme",
    roles=frozenset(),
    permissions=frozenset({PRODUCTS_READ}),
    method=AuthMethod.ACCESS_TOKEN,
)
CALLERS = {"writer": WRITER, "reader": READER}


class FakeProducts:
    def __init__(self, *known: ProductId) -> None:
        self.known = set(known)

    async def get(self, entity_id: ProductId) -> Result[object, AnyAppError]:
        if entity_id in self.known:
            return Ok(entity_id)
        return Err(NotFoundError(f"no product {entity_id}"))


class AsCaller:
    """Stands in for the authentication middleware: the ``X-Test-Caller`` header picks the principal."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            name = dict(scope["headers"]).get(b"x-test-caller", b"").decode()
            scope.setdefault("state", {})["principal"] = CALLERS.get(name)
        await self.app(scope, receive, send)


@pytest.fixture
def product_id() -> ProductId:
    return ProductId.new()


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path)


@pytest.fixture
async def client(product_id: ProductId, store: LocalFileStore) -> AsyncIterator[httpx.AsyncClient]:
    products = FakeProducts(product_id)

    async def product_service() -> FakeProducts:
        return products

    async def file_store() -> FileStore:
        return store

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(product_image_router(product_service, file_store, UploadPolicy(max_bytes=MAX_BYTES)))
    app.add_middleware(AsCaller)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers={"X-Test-Caller": "writer"}) as c:
        yield c


def url(product_id: ProductId) -> str:
    return f"/products/{product_id}/image"


async def put(client: httpx.AsyncClient, product_id: ProductId, body: bytes, content_type: str) -> httpx.Response:
    return await client.put(url(product_id), content=body, headers={"Content-Type": content_type})


# -- accepted uploads, served back safely ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "content_type", "disposition"),
    [
        (png(), "image/png", "inline"),
        (JPEG, "image/jpeg", "inline"),
        (WEBP, "image/webp", "inline"),
        (PDF, "application/pdf", "attachment"),
    ],
)
async def test_an_accepted_file_is_served_back_as_detected(
    client: httpx.AsyncClient, product_id: ProductId, body: bytes, content_type: str, disposition: str
) -> None:
    stored = await put(client, product_id, body, content_type)
    served = await client.get(url(product_id), headers={"X-Test-Caller": "reader"})

    assert stored.status_code == 200, stored.text
    assert stored.json()["data"] == {"product_id": str(product_id), "content_type": content_type, "size": len(body)}
    assert (served.status_code, served.content, served.headers["content-type"]) == (200, body, content_type)
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert served.headers["content-disposition"].startswith(f'{disposition}; filename="product-{product_id}.')


async def test_parameters_on_the_content_type_are_ignored(client: httpx.AsyncClient, product_id: ProductId) -> None:
    assert (await put(client, product_id, png(), "Image/PNG; charset=binary")).status_code == 200


async def test_a_new_upload_replaces_the_old_one(client: httpx.AsyncClient, product_id: ProductId) -> None:
    await put(client, product_id, png(), "image/png")
    await put(client, product_id, PDF, "application/pdf")

    served = await client.get(url(product_id))

    assert (served.content, served.headers["content-type"]) == (PDF, "application/pdf")
    assert served.headers["content-disposition"] == f'attachment; filename="product-{product_id}.pdf"'


# -- refused by type or content ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "claimed", "detected"),
    [
        (png(), "image/jpeg", ["image/png"]),
        (JPEG, "image/png", ["image/jpeg"]),
        (PDF, "image/png", ["application/pdf", "application/vnd.fdf"]),
        (HTML, "image/png", ["text/html"]),
        (SVG, "image/png", ["image/svg+xml"]),
        (b"<html>%PDF-1.4 <script>alert(1)</script>", "application/pdf", ["text/html"]),
        (b"   %PDF-1.4\n", "application/pdf", []),
        (b"just some text", "image/webp", []),
    ],
)
async def test_content_that_is_not_what_it_claims_is_a_415(
    client: httpx.AsyncClient,
    product_id: ProductId,
    store: LocalFileStore,
    body: bytes,
    claimed: str,
    detected: list[str],
) -> None:
    response = await put(client, product_id, body, claimed)

    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["detected"]) == ("common.unsupported_media_type", detected)
    assert await store.open(f"products/{product_id}/image") is None


@pytest.mark.parametrize("content_type", [None, "", "text/html", "image/svg+xml", "image/gif", "application/json"])
async def test_types_off_the_list_are_a_415_before_anything_is_read(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    unknown = ProductId.new()  # the type is checked before the product is even looked up

    response = await client.put(url(unknown), content=png(), headers=headers)

    assert response.status_code == 415
    assert response.json()["allowed"] == sorted(DEFAULT_UPLOAD_TYPES)


@pytest.mark.parametrize(
    "body",
    [
        png(b"<html><script>alert(1)</script></html>"),
        png(b"<SCRIPT src=//evil.example/x.js></SCRIPT>"),
        png(b"< svg onload=alert(1)>"),
        PDF + b"<body onload=alert(1)>",
    ],
)
async def test_polyglots_with_markup_where_browsers_sniff_are_refused(
    client: httpx.AsyncClient, product_id: ProductId, body: bytes
) -> None:
    content_type = "application/pdf" if body.startswith(b"%PDF") else "image/png"

    response = await put(client, product_id, body, content_type)

    assert response.status_code == 415
    assert "HTML or script" in response.json()["detail"]


async def test_markup_past_the_sniffing_window_is_served_inert(
    client: httpx.AsyncClient, product_id: ProductId
) -> None:
    body = png(b"\x00" * 2000 + b"<script>alert(1)</script>")

    assert (await put(client, product_id, body, "image/png")).status_code == 200
    served = await client.get(url(product_id))
    assert (served.headers["content-type"], served.headers["x-content-type-options"]) == ("image/png", "nosniff")


async def test_an_empty_body_is_a_422(client: httpx.AsyncClient, product_id: ProductId) -> None:
    response = await put(client, product_id, b"", "image/png")

    assert response.status_code == 422
    assert [error["type"] for error in response.json()["errors"]] == ["empty_upload"]


# -- refused by size ----------------------------------------------------------------------------------------------
async def test_a_declared_oversize_body_is_a_413(client: httpx.AsyncClient, product_id: ProductId) -> None:
    response = await put(client, product_id, png(b"\x00" * MAX_BYTES), "image/png")

    assert response.status_code == 413
    assert (response.json()["code"], response.json()["max_bytes"]) == ("common.payload_too_large", MAX_BYTES)


async def test_a_body_of_exactly_the_limit_is_accepted(client: httpx.AsyncClient, product_id: ProductId) -> None:
    body = png()
    body += b"\x00" * (MAX_BYTES - len(body))

    assert (await put(client, product_id, body, "image/png")).status_code == 200


async def test_a_streamed_oversize_body_is_cut_off_early(
    client: httpx.AsyncClient, product_id: ProductId, store: LocalFileStore
) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(100):
            sent.append(index)
            yield png() if index == 0 else b"\x00" * 1024

    response = await client.put(url(product_id), content=chunks(), headers={"Content-Type": "image/png"})

    assert response.status_code == 413
    assert "content-length" not in response.request.headers
    assert len(sent) < 10  # refused once past the limit, not after the whole body
    assert await store.open(f"products/{product_id}/image") is None


# -- product and caller -------------------------------------------------------------------------------------------
async def test_an_unknown_product_is_a_404(client: httpx.AsyncClient) -> None:
    unknown = ProductId.new()

    assert (await put(client, unknown, png(), "image/png")).status_code == 404
    assert (await client.get(url(unknown))).status_code == 404


async def test_a_product_without_an_image_is_a_404(client: httpx.AsyncClient, product_id: ProductId) -> None:
    response = await client.get(url(product_id))

    assert (response.status_code, response.json()["detail"]) == (404, f"product {product_id} has no image")


async def test_ids_that_are_not_uuids_never_reach_the_store(client: httpx.AsyncClient, tmp_path: Path) -> None:
    headers = {"Content-Type": "image/png"}
    traversal = await client.put("/products/..%2F..%2Fescaped/image", content=png(), headers=headers)
    malformed = await client.put("/products/not-a-uuid/image", content=png(), headers=headers)

    assert (traversal.status_code, malformed.status_code) == (404, 422)
    assert os.listdir(tmp_path) == []


async def test_writing_needs_products_write_and_reading_needs_a_caller(
    client: httpx.AsyncClient, product_id: ProductId
) -> None:
    as_reader = await client.put(
        url(product_id), content=png(), headers={"Content-Type": "image/png", "X-Test-Caller": "reader"}
    )
    anonymous = await client.get(url(product_id), headers={"X-Test-Caller": "nobody"})

    assert (as_reader.status_code, as_reader.json()["code"]) == (403, "access.permission_denied")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "access.authentication_required")


async def test_the_schema_lists_the_accepted_types(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    request_body = schema["paths"]["/products/{product_id}/image"]["put"]["requestBody"]

    assert sorted(request_body["content"]) == sorted(DEFAULT_UPLOAD_TYPES)
    assert request_body["content"]["image/png"]["schema"]["maxLength"] == MAX_BYTES


def test_the_path_pattern_matches_every_version_and_nothing_else() -> None:
    pattern = re.compile(PRODUCT_IMAGE_PATH)

    assert pattern.match(f"/api/v1/products/{ProductId.new()}/image")
    assert pattern.match(f"/api/v2/products/{ProductId.new()}/image")
    assert not pattern.match("/api/v1/products")
    assert not pattern.match(f"/api/v1/products/{ProductId.new()}/image/extra")
    assert not pattern.match("/api/v1/orders/x/image")


# -- policy and detection ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("max_bytes", "allowed"),
    [(0, DEFAULT_UPLOAD_TYPES), (10, frozenset()), (10, frozenset({"Image/PNG"})), (10, frozenset({"png"}))],
)
def test_a_malformed_policy_is_a_bug(max_bytes: int, allowed: frozenset[str]) -> None:
    with pytest.raises(ValueError, match="must"):
        UploadPolicy(max_bytes=max_bytes, allowed_types=allowed)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", frozenset()),
        (b"hello", frozenset()),
        (png(), frozenset({"image/png"})),
        (JPEG, frozenset({"image/jpeg"})),
        (PDF, frozenset({"application/pdf", "application/vnd.fdf"})),
    ],
)
def test_detection_keeps_the_strongest_matches(data: bytes, expected: frozenset[str]) -> None:
    assert detect_media_types(data) == expected


# -- file names -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("photo.png", "photo.png"),
        ("Invoice 2024-05.pdf", "Invoice 2024-05.pdf"),
        ("résumé.pdf", "résumé.pdf"),
        ("re\u0301sume\u0301.pdf", "résumé.pdf"),  # decomposed accents become NFC
        ("a..b.png", "a..b.png"),
        ("con-artist.png", "con-artist.png"),
        ("x" * 255, "x" * 255),
    ],
)
def test_safe_file_names_are_kept(name: str, kept: str) -> None:
    assert safe_filename(name) == Ok(kept)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        ".",
        "..",
        "../etc/passwd",
        "..\\..\\windows\\system32",
        "/etc/passwd",
        "C:\\boot.ini",
        "C:boot.ini",
        "photos/cat.png",
        "cat.png\x00.pdf",
        "cat\n.png",
        "cat\x7f.png",
        "invoice\u202egnp.exe",  # right-to-left override hides the real extension
        "zero\u200bwidth.png",
        ".htaccess",
        "trailing.",
        "trailing ",
        " leading.png",
        "CON",
        "nul.txt",
        "Com1.png",
        "LPT9",
        "file.txt:stream",
        'quote".png',
        "star*.png",
        "x" * 256,
        "é" * 128,  # 256 bytes in UTF-8
    ],
)
def test_unsafe_file_names_are_refused(name: str) -> None:
    result = safe_filename(name)

    assert isinstance(result, Err)
    assert isinstance(result.error, ValidationFailed)
    assert result.error.to_problem_detail().model_dump()["errors"][0]["type"] == "unsafe_filename"
