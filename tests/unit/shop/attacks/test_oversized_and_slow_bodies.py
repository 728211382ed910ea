"""Resource exhaustion through the request body: too big (declared, lied about, or streamed), too slow, wrong type.

The service under attack has a 2 KiB body limit and a half-second request deadline, so the attacks are cheap
to replay; the catalog is read back afterwards to show that no refused body was acted on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from apibase.testing.service import sign_up

pytestmark = [pytest.mark.unit]

LIMIT = 2048
TIMEOUT = 2.0
PRODUCTS = "/api/v1/products"
JSON = {"Content-Type": "application/json"}


def _product(size: int) -> bytes:
    """A valid product body of exactly ``size`` bytes (the description pads it)."""
    body = {"sku": "BIG-1", "name": "Big", "price": "1.00", "currency": "EUR", "stock": 1, "description": ""}
    padding = size - len(json.dumps(body).encode())
    return json.dumps({**body, "description": "x" * padding}).encode()


@pytest.fixture
async def target(launch) -> tuple[httpx.AsyncClient, dict[str, str]]:
    service = await launch(max_body_bytes=LIMIT, request_timeout_seconds=TIMEOUT)
    return service.http, await sign_up(service.http, tenant="acme")


async def _catalog_is_empty(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert (await http.get(PRODUCTS, headers=admin)).json()["total"] == 0


async def _stream(*chunks: bytes, stall: float = 0.0) -> AsyncIterator[bytes]:
    """A chunked body (no Content-Length); ``stall`` pauses before the last chunk."""
    for chunk in chunks[:-1]:
        yield chunk
    await asyncio.sleep(stall)
    yield chunks[-1]


async def test_declared_content_length_above_the_limit_is_refused(target, expect_problem) -> None:
    http, admin = target
    response = await http.post(PRODUCTS, content=_product(LIMIT + 1), headers={**admin, **JSON})
    body = expect_problem(response, 413, "common.payload_too_large")
    assert str(LIMIT) in body["detail"]
    await _catalog_is_empty(http, admin)


async def test_a_body_of_exactly_the_limit_is_accepted(target) -> None:
    http, admin = target
    response = await http.post(PRODUCTS, content=_product(LIMIT), headers={**admin, **JSON})
    assert response.status_code == 201, response.text
    assert (await http.get(PRODUCTS, headers=admin)).json()["total"] == 1


async def test_huge_declared_content_length_is_refused_without_reading(target, expect_problem) -> None:
    http, admin = target
    for declared in ("99999999999999999999", str(2**63)):
        response = await http.post(PRODUCTS, content=b"{}", headers={**admin, **JSON, "Content-Length": declared})
        expect_problem(response, 413, "common.payload_too_large")
    await _catalog_is_empty(http, admin)


async def test_content_length_that_understates_the_body_is_refused(target, expect_problem) -> None:
    """The header says 100 bytes; the bytes keep coming: the count of what arrived decides."""
    http, admin = target
    response = await http.post(
        PRODUCTS, content=_product(LIMIT * 4), headers={**admin, **JSON, "Content-Length": "100"}
    )
    expect_problem(response, 413, "common.payload_too_large")
    await _catalog_is_empty(http, admin)


@pytest.mark.parametrize("idempotency", [{}, {"Idempotency-Key": "stream-1"}], ids=["plain", "idempotent"])
async def test_chunked_body_without_content_length_growing_past_the_limit_is_refused(
    target, expect_problem, idempotency
) -> None:
    """The idempotency layer buffers keyed bodies: the limit must hold there too."""
    http, admin = target
    chunks = [b'{"sku": "STREAM-1", "name": "Stream", "price": "1", "currency": "EUR", "description": "']
    chunks += [b"x" * 512] * 8 + [b'"}']
    request = http.build_request("POST", PRODUCTS, content=_stream(*chunks), headers={**admin, **JSON, **idempotency})
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    expect_problem(await http.send(request), 413, "common.payload_too_large")
    await _catalog_is_empty(http, admin)


async def test_body_that_stalls_past_the_deadline_gets_a_504(target, expect_problem) -> None:
    """Slowloris on the body: a few bytes, then silence; the worker is freed at the deadline."""
    http, admin = target
    request = http.build_request(
        "POST", PRODUCTS, content=_stream(b'{"sku": "SLOW-1", ', b'"name": "x"}', stall=10), headers={**admin, **JSON}
    )
    started = time.monotonic()
    response = await http.send(request)
    elapsed = time.monotonic() - started
    body = expect_problem(response, 504, "common.request_timeout")
    assert f"{TIMEOUT:g} seconds" in body["detail"]
    assert TIMEOUT <= elapsed < TIMEOUT + 2
    await _catalog_is_empty(http, admin)


async def test_a_stalled_body_with_an_idempotency_key_does_not_block_the_key(target, expect_problem) -> None:
    http, admin = target
    key = {"Idempotency-Key": "slow-key-1"}
    stalled = http.build_request(
        "POST", PRODUCTS, content=_stream(b'{"sku": ', b'"SLOW-2"}', stall=10), headers={**admin, **JSON, **key}
    )
    expect_problem(await http.send(stalled), 504, "common.request_timeout")
    retry = await http.post(PRODUCTS, content=_product(300), headers={**admin, **JSON, **key})
    assert retry.status_code == 201, retry.text


async def test_non_json_body_is_refused_with_415(target, expect_problem) -> None:
    http, admin = target
    body = b'{"sku": "FORM-1", "name": "Form", "price": "1.00", "currency": "EUR", "stock": 1}'
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "text/json",
        "application/jsonp",
        "application/+json",
        "application/json-seq",
        "text/html; charset=utf-8, application/json",
    ):
        created = await http.post(PRODUCTS, content=body, headers={**admin, "Content-Type": content_type})
        expect_problem(created, 415, "common.unsupported_media_type")
        assert created.headers["accept-post"] == "application/json"
    await _catalog_is_empty(http, admin)


async def test_body_without_a_content_type_is_refused_with_415(target, expect_problem) -> None:
    http, admin = target
    request = http.build_request("POST", PRODUCTS, content=b'{"sku": "NOTYPE-1"}', headers=admin)
    assert "content-type" not in request.headers
    expect_problem(await http.send(request), 415, "common.unsupported_media_type")
    patched = await http.patch(
        f"{PRODUCTS}/00000000-0000-4000-8000-000000000000",
        content=b"price=0",
        headers={**admin, "Content-Type": "text/plain"},
    )
    expect_problem(patched, 415, "common.unsupported_media_type")
    assert "application/merge-patch+json" in patched.headers["accept-patch"]
    await _catalog_is_empty(http, admin)


#: Each hostile body and the client error it must get (never a 500, never a stored row).
HOSTILE_JSON = [
    (b"[" * 200_000 + b"]" * 200_000, 400, "common.bad_request"),  # recursion bomb
    (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400, "common.bad_request"),
    (b'{"sku": "NUM-1", "name": "n", "price": 1e999999, "currency": "EUR"}', 422, "common.validation_failed"),
    (b'{"sku": "NUM-1", "name": "n", "price": "NaN", "currency": "EUR"}', 422, "common.validation_failed"),
    (b'{"sku": "NUM-1", "name": "n", "price": "-Infinity", "currency": "EUR"}', 422, "common.validation_failed"),
    (b'{"sku": "NUM-1", "name": "n", "price": "1e999999999", "currency": "EUR"}', 422, "common.validation_failed"),
    (b'{"sku": "NUM-1", "name": "\\ud800", "price": "1", "currency": "EUR"}', 422, "common.validation_failed"),
    (
        b'{"sku": "NUM-1", "name": "n", "price": "1", "currency": "EUR", "__proto__": {}}',
        422,
        "common.validation_failed",
    ),
    (
        b'{"sku": "NUM-1", "name": "n", "price": "1", "currency": "EUR", "tenant": "bravo"}',
        422,
        "common.validation_failed",
    ),
    (b"\xff\xfe{\x00}\x00", 422, "common.validation_failed"),  # UTF-16: decodes to {}, fields missing
    (b"\xc3\x28{}", 400, "common.bad_request"),  # invalid UTF-8
]


async def test_hostile_json_is_a_client_error_not_a_crash(http, admin, expect_problem) -> None:
    """Under the default 1 MiB limit, so nesting can go deep enough to exhaust a recursive parser."""
    for body, status, code in HOSTILE_JSON:
        response = await http.post(PRODUCTS, content=body, headers={**admin, **JSON})
        expect_problem(response, status, code)
    await _catalog_is_empty(http, admin)
