"""RED metrics per route template: one count, one duration and the in-flight gauge per HTTP request.

Labels are bounded so no client can create series at will: the route is the matched template (the same
``route_template`` the access log uses) or ``<unmatched>`` (a 404 with no route, or a refusal by an outer layer
before routing); the method is one of the standard ones or ``OTHER``; never the raw path or the query string.

An exception escaping the application counts as a 500 and is re-raised untouched. Sit this middleware right
inside the access log, so refusals by later layers (401, 413, 429) are counted too, and inside the tracing
middleware, so the current span's trace id can become an exemplar.

Public API: ``MetricsMiddleware(app, *, metrics, exclude_paths=())`` (pure ASGI), ``method_label(method)``.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.infrastructure.observability.metrics import UNMATCHED_ROUTE, Metrics
from apibase.interface.http.middleware.request_logging import route_template

__all__ = ["MetricsMiddleware", "method_label"]

_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def method_label(method: str) -> str:
    """The method, or ``OTHER`` for anything non-standard (Starlette accepts any token as a method)."""
    return method if method in _METHODS else "OTHER"


class MetricsMiddleware:
    """Pure ASGI: records every HTTP request once its response is complete (or its exception escapes)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, exclude_paths: Collection[str] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.exclude_paths = frozenset(exclude_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exclude_paths:
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with self.metrics.in_flight():
            started = time.perf_counter()
            try:
                await self.app(scope, receive, send_with_status)
            except Exception:
                self._record(scope, 500, started)
                raise
            self._record(scope, status, started)

    def _record(self, scope: Scope, status: int, started: float) -> None:
        method = method_label(str(scope.get("method", "")))
        route = route_template(scope) or UNMATCHED_ROUTE
        self.metrics.request_finished(method, route, status, time.perf_counter() - started)
