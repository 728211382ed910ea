"""``request_header`` answers what Starlette's ``Headers(scope=scope).get`` does, absent headers included."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers
from starlette.types import Scope

from apibase.interface.http.middleware.request_headers import request_header

pytestmark = pytest.mark.unit

SCOPE: Scope = {
    "type": "http",
    "headers": [
        (b"content-type", b"application/json"),
        (b"x-note", b"caf\xe9"),
        (b"x-twice", b"first"),
        (b"x-twice", b"second"),
    ],
}


@pytest.mark.parametrize("name", ["content-type", "x-note", "x-twice", "authorization"])
def test_it_answers_as_starlette_does(name: str) -> None:
    assert request_header(SCOPE, name.encode()) == Headers(scope=SCOPE).get(name)


def test_the_first_value_counts_and_absent_is_none() -> None:
    assert request_header(SCOPE, b"x-twice") == "first"
    assert request_header(SCOPE, b"x-note") == "café"
    assert request_header({"headers": []}, b"content-length") is None
