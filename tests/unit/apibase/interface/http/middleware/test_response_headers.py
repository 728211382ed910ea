"""Headers added in one pass: only those the response does not set itself, names encoded once."""

from __future__ import annotations

import pytest

from apibase.interface.http.middleware.response_headers import add_missing_headers, adding_missing, encode_headers

pytestmark = pytest.mark.unit


def test_names_are_lowercased_and_a_repeated_name_keeps_its_first_value() -> None:
    assert encode_headers([("X-Frame-Options", "DENY"), ("x-frame-options", "SAMEORIGIN"), ("A", "b")]) == (
        (b"x-frame-options", b"DENY"),
        (b"a", b"b"),
    )


def test_only_missing_headers_are_appended_in_order() -> None:
    raw = [(b"X-Frame-Options", b"SAMEORIGIN")]
    add_missing_headers(raw, encode_headers([("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")]))
    assert raw == [(b"X-Frame-Options", b"SAMEORIGIN"), (b"referrer-policy", b"no-referrer")]


def test_the_edit_adds_what_is_missing_each_time_it_is_applied() -> None:
    edit = adding_missing(encode_headers([("X-Content-Type-Options", "nosniff")]))
    first: list[tuple[bytes, bytes]] = []
    second = [(b"x-content-type-options", b"sniff")]
    edit(first)
    edit(second)
    assert first == [(b"x-content-type-options", b"nosniff")]
    assert second == [(b"x-content-type-options", b"sniff")]
