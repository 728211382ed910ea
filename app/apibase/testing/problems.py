"""Assertions on error answers: exactly the expected RFC 9457 problem, and nothing leaked in it.

Shared by every suite that attacks a service (the kernel's own and a service's), so "no leak" means one thing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import httpx

__all__ = ["assert_no_leak", "assert_problem"]

_LEAKS = re.compile(r"Traceback|File \"|\.py\b|sqlalchemy|aiosqlite|sqlite3|Exception|Error\(|eyJ[A-Za-z0-9_-]{8,}")


def assert_problem(response: httpx.Response, status: int, code: str, secrets: Iterable[str] = ()) -> dict[str, object]:
    """The answer is exactly this RFC 9457 problem, and neither its body nor its headers leak anything."""
    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json"), (
        response.status_code,
        response.text,
    )
    body: dict[str, object] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert str(body["type"]).endswith(code)
    assert {"title", "detail", "request_id"} <= body.keys()
    assert body["request_id"] == response.headers["x-request-id"]
    assert_no_leak(response, secrets)
    return body


def assert_no_leak(response: httpx.Response, secrets: Iterable[str] = ()) -> None:
    """No stack trace, internal name or token-like text in the body or headers, nor any of ``secrets``."""
    seen = response.text + json.dumps(list(response.headers.items()))
    assert _LEAKS.search(seen) is None, seen
    for secret in secrets:
        assert secret not in seen, f"leaked {secret[:12]}..."
