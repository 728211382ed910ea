"""Path traversal: hostile file names, store keys and URL segments never reach a file outside the uploads root.

Three layers are attacked: ``safe_filename`` (names a client sends), ``LocalFileStore`` (the keys code builds,
symlinks planted inside the root) and the product image routes over HTTP, whose only path input is the
product id. After each HTTP attack the whole temporary directory is listed: nothing was written beside it.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from apibase.core.result import Err, Ok
from apibase.infrastructure.files import LocalFileStore
from apibase.testing.service import sign_up
from shop.catalog.interface.images import safe_filename

pytestmark = [pytest.mark.unit]

HOSTILE_NAMES = [
    "../../etc/passwd",
    "..\\..\\win.ini",
    "/etc/passwd",
    "a\x00.png",
    "..",
    ".",
    "",
    "   ",
    "C:\\boot.ini",
    "C:evil.png",
    "dir/photo.png",
    "photo.png/",
    ".htaccess",
    "photo.png.",
    "photo.png ",
    "nul",
    "CON.txt",
    "com1.png",
    "a\nb.png",
    "a\rb.png",
    "\u202egnp.exe",  # right-to-left override: shows as "exe.png"
    "a\u2028b.png",
    "x" * 256,
    "é" * 128,  # 256 bytes in UTF-8
]


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b"")
    )


def _files_under(root: Path) -> set[str]:
    """Every file below ``root``, the service's own SQLite files (and their journals) aside."""
    found = {str(Path(folder, name).relative_to(root)) for folder, _, names in os.walk(root) for name in names}
    return {name for name in found if not name.startswith("service-")}


def test_safe_filename_refuses_traversal_and_tricks() -> None:
    for name in HOSTILE_NAMES:
        verdict = safe_filename(name)
        assert isinstance(verdict, Err), repr(name)
        problem = verdict.error.to_problem_detail()
        assert (problem.status, problem.code) == (422, "common.validation_failed")
        errors = verdict.error.extensions["errors"]
        assert isinstance(errors, list)
        assert errors[0]["loc"] == ["filename"]  # type: ignore[index]
        assert name not in verdict.error.detail or not name.strip()


def test_safe_filename_keeps_ordinary_names() -> None:
    for name in ("photo.png", "résumé 2024.pdf", "a..b.png", "x" * 255, "%2e%2e%2fetc"):
        assert safe_filename(name) == Ok(name)
    decomposed = "re\u0301sume\u0301.pdf"
    assert safe_filename(decomposed) == Ok("résumé.pdf")


@pytest.mark.parametrize(
    "key",
    ["../outside", "products/../../outside", "/etc/passwd", "products/./x", "products//x", ".hidden", "a\\..\\b", ""],
)
async def test_file_store_refuses_keys_that_leave_the_root(tmp_path, key) -> None:
    store = LocalFileStore(tmp_path / "uploads")
    with pytest.raises(ValueError, match="file key"):
        await store.save(key, b"data", "text/plain")
    assert _files_under(tmp_path) == set()


async def test_file_store_refuses_a_symlink_planted_inside_the_root(tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = LocalFileStore(tmp_path / "uploads")
    store.root.mkdir()
    (store.root / "products").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside"):
        await store.save("products/p1/image", b"data", "image/png")
    with pytest.raises(ValueError, match="outside"):
        await store.open("products/p1/image")
    assert list(outside.iterdir()) == []


@pytest.fixture
async def uploads(launch):
    """A service storing uploads under ``tmp_path/uploads``, its admin, and a product with an image."""
    service = await launch()  # uploads go to tmp_path / "uploads"
    http = service.http
    admin = await sign_up(http, tenant="acme")
    body = {"sku": "IMG-1", "name": "Pictured", "price": "1.00", "currency": "EUR", "stock": 1}
    product = (await http.post("/api/v1/products", json=body, headers=admin)).json()["data"]
    stored = await http.put(
        f"/api/v1/products/{product['id']}/image",
        content=_png(),
        headers={**admin, "Content-Type": "image/png", "Content-Disposition": 'attachment; filename="../../evil.png"'},
    )
    assert stored.status_code == 200, stored.text
    return http, admin, product["id"]


#: URL-encoded traversal in the product id, and how the service answers it: a segment that decodes into several
#: matches no image route (PUT: not an upload path, so the JSON-only rule refuses it; GET: 404); a single
#: segment reaches the route and is not a product id (422).
TRAVERSALS = [
    ("..%2F..%2Fetc%2Fpasswd", (415, "common.unsupported_media_type"), (404, "common.not_found")),
    ("%2e%2e%2f%2e%2e%2fetc%2fpasswd", (415, "common.unsupported_media_type"), (404, "common.not_found")),
    ("%2Fetc%2Fpasswd", (415, "common.unsupported_media_type"), (404, "common.not_found")),
    ("....//....//etc/passwd", (415, "common.unsupported_media_type"), (404, "common.not_found")),
    ("..%5C..%5Cwin.ini", (422, "common.validation_failed"), (422, "common.validation_failed")),
    ("a%00.png", (422, "common.validation_failed"), (422, "common.validation_failed")),
    ("..%252f..%252fetc%252fpasswd", (422, "common.validation_failed"), (422, "common.validation_failed")),
    ("%2e%2e", (422, "common.validation_failed"), (422, "common.validation_failed")),
]


async def test_traversal_in_the_product_id_reads_and_writes_no_file(uploads, tmp_path, expect_problem) -> None:
    http, admin, product_id = uploads
    before = _files_under(tmp_path)
    assert f"uploads/products/{product_id}/image" in before
    for segment, put_answer, get_answer in TRAVERSALS:
        url = f"/api/v1/products/{segment}/image"
        written = await http.put(url, content=_png(), headers={**admin, "Content-Type": "image/png"})
        expect_problem(written, *put_answer)
        read = await http.get(url, headers=admin)
        expect_problem(read, *get_answer)
        assert "root:" not in read.text
    assert _files_under(tmp_path) == before


async def test_client_file_name_never_names_the_stored_or_served_file(uploads, tmp_path) -> None:
    http, admin, product_id = uploads
    assert _files_under(tmp_path) == {f"uploads/products/{product_id}/image"}
    served = await http.get(f"/api/v1/products/{product_id}/image", headers=admin)
    assert served.status_code == 200
    assert served.headers["content-disposition"] == f'inline; filename="product-{product_id}.png"'
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.content == _png()


async def test_markup_disguised_as_an_image_is_refused(uploads, expect_problem) -> None:
    http, admin, product_id = uploads
    polyglot = _png()[:16] + b"<html><script>alert(document.cookie)</script></html>" + _png()[16:]
    response = await http.put(
        f"/api/v1/products/{product_id}/image", content=polyglot, headers={**admin, "Content-Type": "image/png"}
    )
    expect_problem(response, 415, "common.unsupported_media_type")
    assert (await http.get(f"/api/v1/products/{product_id}/image", headers=admin)).content == _png()
