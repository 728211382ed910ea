"""A server span's request attributes, as the ASGI instrumentation collects them, for a fraction of its cost.

``collect_request_attributes`` (``opentelemetry.instrumentation.asgi``) was the largest single cost of the server
span: about half of it, 15-30 µs per request measured in process. It decodes every request header once per header
it looks up (four lookups of ``host`` and ``user-agent``), builds the URL twice, and runs ``redact_url`` (two
``urlparse`` calls) and ``sanitize_method`` (an environment lookup) on every request, although almost every request
is a standard method on a URL without credentials or sensitive query parameters, where those change nothing.

:class:`RequestTarget` reads the headers in one pass and builds the same dict, key for key and in the same order,
for that common case under the default (old) semantic conventions; for anything else (another conventions mode, a
method outside the standard set, an ``@`` in the URL, a query that redaction might change) it calls the
instrumentation itself. ``tests/unit/apibase/infrastructure/observability/test_request_attributes.py`` checks both
against the instrumentation on generated scopes.

Public API: ``RequestTarget.of(scope)`` with ``url`` (``get_host_port_url_tuple(scope)[2]``) and
``attributes(scope, mode)`` (``collect_request_attributes(scope, mode)``); ``sanitized_method(method)``
(``sanitize_method(method)``, which looks up an environment variable on every call).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from opentelemetry.instrumentation import asgi
from opentelemetry.instrumentation._semconv import _StabilityMode
from opentelemetry.util.http import (
    PARAMS_TO_REDACT,
    detect_synthetic_user_agent,
    normalize_user_agent,
    sanitize_method,
)
from opentelemetry.util.types import AttributeValue
from starlette.types import Scope

__all__ = ["RequestTarget", "sanitized_method"]

# The instrumentation's own helpers, typed here (the package ships without annotations).
_collect_request_attributes: Callable[[Scope, _StabilityMode], dict[str, AttributeValue]] = (
    asgi.collect_request_attributes
)
_decode: Callable[[bytes], str] = asgi._decode_header_item

#: ``sanitize_method``'s standard methods: each comes back from it unchanged, whatever the environment says.
_STANDARD_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"}
)
#: Where an empty ``server`` leaves the instrumentation.
_NO_SERVER: Final = ("0.0.0.0", 80)  # noqa: S104  # a URL's host name here, nothing binds to it


def sanitized_method(method: str) -> str:
    """``sanitize_method(method)`` without its environment lookup for the standard methods it keeps as they are."""
    return method if method in _STANDARD_METHODS else sanitize_method(method)


def _redaction_changes_nothing(url: str, query: str) -> bool:
    """True when ``redact_url`` would return ``url`` as it is: no credentials (no ``@`` anywhere), and no query
    parameter that could be named like a sensitive one, even after the second decoding ``parse_qs`` does."""
    return "@" not in url and not (query and ("%" in query or any(name in query for name in PARAMS_TO_REDACT)))


@dataclass(frozen=True, slots=True)
class RequestTarget:
    """What the instrumentation reads from a request's scope to name its URL: host, port, URL and two headers."""

    server_host: str
    port: object
    url: str
    hosts: tuple[str, ...]
    user_agents: tuple[str, ...]

    @classmethod
    def of(cls, scope: Scope) -> RequestTarget:
        """The headers in one pass, decoded and matched as the instrumentation's getter does."""
        hosts: list[str] = []
        user_agents: list[str] = []
        for key, value in scope.get("headers") or ():
            name = _decode(key).lower()
            if name == "host":
                hosts.append(_decode(value))
            elif name == "user-agent":
                user_agents.append(_decode(value))
        server = scope.get("server") or _NO_SERVER
        port = server[1]
        server_host = server[0] + (":" + str(port) if str(port) != "80" else "")
        url_host = hosts[0] if hosts else server_host
        url = scope.get("scheme", "http") + "://" + url_host + scope.get("path", "")
        return cls(server_host, port, url, tuple(hosts), tuple(user_agents))

    def attributes(self, scope: Scope, mode: _StabilityMode) -> dict[str, AttributeValue]:
        """``collect_request_attributes(scope, mode)``: the same dict, straight for a plain request."""
        query_string = scope.get("query_string")
        method = scope.get("method", "")
        if mode is not _StabilityMode.DEFAULT or method not in _STANDARD_METHODS:
            return _collect_request_attributes(scope, mode)
        url = self.url
        query = ""
        if query_string:
            if not isinstance(query_string, bytes):
                return _collect_request_attributes(scope, mode)
            query = unquote(query_string.decode("utf8"))
            url += "?" + query
        if not _redaction_changes_nothing(url, query):
            return _collect_request_attributes(scope, mode)
        return self._plain_attributes(scope, method, url)

    def _plain_attributes(self, scope: Scope, method: str, url: str) -> dict[str, AttributeValue]:
        """The old conventions' attributes of a request whose method and URL the instrumentation keeps as they are."""
        result: dict[str, AttributeValue] = {}
        if scheme := scope.get("scheme"):
            result["http.scheme"] = scheme
        if self.server_host:
            result["http.host"] = self.server_host
        if self.port:
            _set_int(result, "net.host.port", self.port)
        if flavor := scope.get("http_version"):
            result["http.flavor"] = flavor
        if path := scope.get("path"):
            result["http.target"] = path
        result["http.url"] = url
        result["http.method"] = method
        if self.hosts:
            result["http.server_name"] = ",".join(self.hosts)
        if self.user_agents:
            user_agent = normalize_user_agent(self.user_agents[0])
            if user_agent:
                result["http.user_agent"] = user_agent
            if synthetic := detect_synthetic_user_agent(user_agent):
                result["user_agent.synthetic.type"] = synthetic
        client = scope.get("client")
        if client is not None:
            if client[0]:
                result["net.peer.ip"] = client[0]
            if client[1]:
                _set_int(result, "net.peer.port", client[1])
        return result


def _set_int(result: dict[str, AttributeValue], key: str, value: object) -> None:
    """``set_int_attribute``: an int of the value, or nothing when it is not one."""
    with suppress(ValueError, TypeError):
        result[key] = int(value)  # type: ignore[call-overload]  # whatever the server put there, as OTel does
