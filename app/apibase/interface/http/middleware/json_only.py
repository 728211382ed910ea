"""API writes take JSON only: a POST/PUT/PATCH body in any other media type gets a 415 problem.

Checking at the edge means a form or XML body is refused with a clear answer instead of failing deep in
validation with a confusing message (or, worse, being parsed by some other reader).

Public API: ``JsonOnlyMiddleware(app, *, path_prefixes=("/api/",), methods=...)`` (pure ASGI),
``is_json_media_type(content_type) -> bool``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Final

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from apibase.core.errors import UnsupportedMediaTypeError
from apibase.interface.http.problems import send_problem

__all__ = ["DEFAULT_JSON_METHODS", "JsonOnlyMiddleware", "is_json_media_type"]

DEFAULT_JSON_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
_DETAIL: Final = "Send the request body as application/json (or an application/*+json type)."
# RFC 9110 15.5.16: a 415 may say which media types the method does accept.
_ACCEPT_HEADERS: Final = {
    "POST": ("Accept-Post", "application/json"),
    "PATCH": ("Accept-Patch", "application/json, application/merge-patch+json"),
}


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or any ``application/<name>+json`` (e.g. merge-patch+json), parameters ignored."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or (subtype.endswith("+json") and len(subtype) > 5))


class JsonOnlyMiddleware:
    """Pure ASGI: a body sent to an API path with a write method must be JSON, else 415."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        path_prefixes: Sequence[str] = ("/api/",),
        methods: Collection[str] = DEFAULT_JSON_METHODS,
        exempt_paths: Sequence[re.Pattern[str]] = (),
    ) -> None:
        """``exempt_paths``: routes that take raw bodies (file uploads), matched against the whole path."""
        self.app = app
        self.path_prefixes = tuple(path_prefixes)
        self.exempt_paths = tuple(exempt_paths)
        self.methods = frozenset(method.upper() for method in methods)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in self.methods
            and str(scope["path"]).startswith(self.path_prefixes)
            and not any(pattern.fullmatch(scope["path"]) for pattern in self.exempt_paths)
        ):
            headers = Headers(scope=scope)
            if _has_body(headers) and not is_json_media_type(headers.get("content-type")):
                problem = UnsupportedMediaTypeError(_DETAIL).to_problem_detail(instance=scope["path"])
                accept = _ACCEPT_HEADERS.get(scope["method"])
                await send_problem(scope, receive, send, problem, headers=dict([accept]) if accept else None)
                return
        await self.app(scope, receive, send)


def _has_body(headers: Headers) -> bool:
    return "transfer-encoding" in headers or headers.get("content-length", "0").strip() not in ("", "0")
