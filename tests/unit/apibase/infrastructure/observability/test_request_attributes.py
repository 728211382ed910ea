"""``RequestTarget`` gives exactly what the ASGI instrumentation's ``collect_request_attributes`` and
``get_host_port_url_tuple`` give, key for key and in the same order, plain requests and odd ones alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.instrumentation import asgi
from opentelemetry.instrumentation._semconv import _StabilityMode
from opentelemetry.util.http import sanitize_method

from apibase.infrastructure.observability import request_attributes
from apibase.infrastructure.observability.request_attributes import RequestTarget, sanitized_method

pytestmark = pytest.mark.unit

# The instrumentation's own functions, typed here (the package ships without annotations).
collect_request_attributes: Callable[[Mapping[str, Any], _StabilityMode], dict[str, object]] = (
    asgi.collect_request_attributes
)
get_host_port_url_tuple: Callable[[Mapping[str, Any]], tuple[str, object, str]] = asgi.get_host_port_url_tuple

PLAIN: dict[str, Any] = {
    "type": "http",
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/api/v2/products/7d75d032-904c-4cda-aba4-c144d5c83c67",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", b"Bearer x"), (b"x-tenant-id", b"default")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}

_header_names = st.sampled_from(
    [b"host", b"Host", b"user-agent", b"User-Agent", b"accept", b"authorization", b"x-h\xc3\xb6st", b"ho\xffst"]
)
_header_values = st.sampled_from(
    [
        b"example.com",
        b"example.com:8443",
        b"user:pw@example.com",
        b"[::1]:8000",
        b"curl/8.0",
        b"Googlebot/2.1",
        b"pytest-runner",
        b"",
        b"caf\xc3\xa9",
        b"\xff\xfe",
    ]
)
_scopes = st.fixed_dictionaries(
    {
        "type": st.just("http"),
        "method": st.sampled_from(["GET", "POST", "get", "PURGE", "QUERY", " GET", "DELETE", ""]),
        "path": st.sampled_from(["/items/1", "/a@b/c", "/what?x=1", "/", "", "/caf\u00e9", "/x#frag"]),
        "query_string": st.sampled_from(
            [b"", b"limit=50", b"sig=abc", b"Signature=x&y=1", b"q=%53ignature", b"a=%2553ig", b"e=a@b.c", b"x=1+2"]
        ),
        "headers": st.lists(st.tuples(_header_names, _header_values), max_size=4),
    },
    optional={
        "scheme": st.sampled_from(["http", "https", "", "ws"]),
        "http_version": st.sampled_from(["1.1", "2", ""]),
        "server": st.sampled_from([("127.0.0.1", 8000), ("10.0.0.1", 80), ("h", "80"), ("h", None), None]),
        "client": st.sampled_from([("127.0.0.1", 50000), ("::1", "7"), ("", 0), ("h", "x"), None]),
    },
)


def _ordered(attributes: Mapping[str, object]) -> list[tuple[str, object]]:
    return list(attributes.items())


def test_a_plain_request_takes_the_straight_path_with_the_instrumentations_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(*args: object) -> dict[str, object]:
        raise AssertionError("the plain request went to the instrumentation")

    expected = collect_request_attributes(PLAIN, _StabilityMode.DEFAULT)
    monkeypatch.setattr(request_attributes, "_collect_request_attributes", refused)
    target = RequestTarget.of(PLAIN)
    assert target.url == get_host_port_url_tuple(PLAIN)[2]
    assert _ordered(target.attributes(PLAIN, _StabilityMode.DEFAULT)) == _ordered(expected)


@pytest.mark.parametrize(
    "change",
    [
        {"query_string": b"limit=50&offset=0"},
        {"headers": [(b"user-agent", b"Mozilla/5.0 (compatible; Googlebot/2.1)"), (b"host", b"a"), (b"host", b"b")]},
        {"server": None, "headers": []},
    ],
)
def test_other_common_requests_take_the_straight_path_too(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, object]
) -> None:
    scope = {**PLAIN, **change}
    expected = collect_request_attributes(scope, _StabilityMode.DEFAULT)
    monkeypatch.setattr(request_attributes, "_collect_request_attributes", None)
    assert _ordered(RequestTarget.of(scope).attributes(scope, _StabilityMode.DEFAULT)) == _ordered(expected)


@settings(max_examples=400, deadline=None)
@given(scope=_scopes, mode=st.sampled_from(list(_StabilityMode)))
def test_any_scope_gets_what_the_instrumentation_gives(scope: dict[str, Any], mode: _StabilityMode) -> None:
    try:
        expected: object = collect_request_attributes(scope, mode)
    except Exception as error:  # whatever it raises on a malformed scope, the straight path raises alike
        with pytest.raises(type(error)):
            RequestTarget.of(scope).attributes(scope, mode)
        return
    target = RequestTarget.of(scope)
    assert target.url == get_host_port_url_tuple(scope)[2]
    assert _ordered(target.attributes(scope, mode)) == _ordered(expected)  # type: ignore[arg-type]  # a dict here


@pytest.mark.parametrize("capture_all", [False, True])
@pytest.mark.parametrize("method", ["GET", "PATCH", "QUERY", "get", "Post", "PURGE", "", "_OTHER"])
def test_a_method_is_sanitized_as_the_instrumentation_does(
    method: str, capture_all: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if capture_all:
        monkeypatch.setenv("OTEL_PYTHON_INSTRUMENTATION_HTTP_CAPTURE_ALL_METHODS", "true")
    assert sanitized_method(method) == sanitize_method(method)
