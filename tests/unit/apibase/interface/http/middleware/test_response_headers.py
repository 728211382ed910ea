"""Headers added in one pass: only those the response does not set itself, names encoded once."""

from __future__ import annotations

import pytest
from starlette.types import Message

from apibase.interface.http.middleware.response_headers import add_missing_headers, encode_headers

pytestmark = pytest.mark.unit


def test_names_are_lowercased_and_a_repeated_name_keeps_its_first_value() -> None:
    assert encode_headers([("X-Frame-Options", "DENY"), ("x-frame-options", "SAMEORIGIN"), ("A", "b")]) == (
        (b"x-frame-options", b"DENY"),
        (b"a", b"b"),
    )


def test_only_missing_headers_are_appended_in_order() -> None:
    message: Message = {"type": "http.response.start", "status": 200, "headers": [(b"X-Frame-Options", b"SAMEORIGIN")]}
    add_missing_headers(message, encode_headers([("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")]))
    assert message["headers"] == [(b"X-Frame-Options", b"SAMEORIGIN"), (b"referrer-policy", b"no-referrer")]


@pytest.mark.parametrize("headers", [None, (), ((b"content-type", b"application/json"),)])
def test_absent_or_tuple_headers_become_a_list(headers: tuple[tuple[bytes, bytes], ...] | None) -> None:
    message: Message = {"type": "http.response.start", "status": 204}
    if headers is not None:
        message["headers"] = headers
    add_missing_headers(message, encode_headers([("X-Content-Type-Options", "nosniff")]))
    assert message["headers"] == [*(headers or ()), (b"x-content-type-options", b"nosniff")]
