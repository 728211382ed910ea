"""One access-log line per request: what was called, by whom, with what outcome and how fast.

Dashboards group by ``route``, the template (``/api/v1/products/{product_id}``): ids in paths would make every
line unique. Only a 404 with no matching route falls back to the raw path (that is the interesting part of a
miss); a request refused before routing (401, 413, 429 from an outer middleware) logs ``route=None``. The raw
path goes beside it as ``path`` (ECS ``url.path``) for finding one request; personal data in it (an e-mail in a
path segment) is masked by the logging pipeline like anywhere else. Query strings, headers (``Authorization``,
``Cookie``) and bodies are never logged.

Field names are the short ones every log line uses (``method``, ``route``, ``path``, ``status``,
``duration_ms``, ``client_ip``, ``request_id``, ``correlation_id``, ``user``, ``tenant``, ``error``); the JSON
renderer maps them to ECS (``http.request.method``, ``http.route``, ``url.path``, ``http.response.status_code``,
``event.duration`` in nanoseconds, ``client.ip``, ...), see ``apibase.infrastructure.observability.ecs``.

Caller and tenant are read from ``scope["state"]`` after the response, where the authentication middleware
leaves them, so this middleware may sit outside it (and should: it then also logs the requests it refuses).

Public API: ``RequestLoggingMiddleware(app, *, exclude_path_prefixes=("/health/",))`` (pure ASGI),
``route_template(scope) -> str | None``, ``caller_of(scope) -> (Principal | None, tenant | None)``,
``client_ip(scope) -> str | None``, ``ACCESS_LOGGER``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Final

import structlog
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.core.principal import Principal
from apibase.interface.http.middleware.correlation import correlation_id_for
from apibase.interface.http.problems import request_id_for

__all__ = ["ACCESS_LOGGER", "RequestLoggingMiddleware", "caller_of", "client_ip", "route_template"]

ACCESS_LOGGER: Final = "apibase.access"
_log: Final = structlog.stdlib.get_logger(ACCESS_LOGGER)


def route_template(scope: Scope) -> str | None:
    """The matched route's path template, with the prefixes of the mounts it sits under; ``None`` if unrouted.

    Starlette's router leaves the matched route in ``scope["route"]`` (the innermost one wins, in the same
    scope dict) and each ``Mount`` appends its matched prefix to ``root_path``; ``app_root_path`` keeps the
    deployment's own root path, which is not part of the template.
    """
    route = scope.get("route")
    path_format = getattr(route, "path_format", None)
    if not isinstance(route, BaseRoute) or isinstance(route, Mount) or not isinstance(path_format, str):
        return None
    root_path = str(scope.get("root_path", ""))
    app_root_path = str(scope.get("app_root_path", root_path))
    return root_path.removeprefix(app_root_path) + path_format


def caller_of(scope: Scope) -> tuple[Principal | None, str | None]:
    """The principal and tenant the authentication step left in ``scope["state"]``; never from headers."""
    state = scope.get("state")
    if not isinstance(state, Mapping):
        return None, None
    caller = state.get("principal")
    caller = caller if isinstance(caller, Principal) else None
    tenant = state.get("tenant")
    if isinstance(tenant, str):
        return caller, tenant
    return caller, caller.tenant if caller is not None else None


def client_ip(scope: Scope) -> str | None:
    """The ASGI peer address; behind a proxy, let the server rewrite it (uvicorn ``--forwarded-allow-ips``)."""
    client = scope.get("client")
    return str(client[0]) if client else None


class RequestLoggingMiddleware:
    """Pure ASGI: logs ``request`` on ``apibase.access`` once per HTTP request, after the response.

    An exception escaping the application is logged with status 500 and re-raised untouched; its traceback is
    the problem handlers' (or the server's) to log, once.
    """

    def __init__(self, app: ASGIApp, *, exclude_path_prefixes: Sequence[str] = ("/health/",)) -> None:
        self.app = app
        self.exclude_path_prefixes = tuple(exclude_path_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exclude_path_prefixes):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with inner middlewares, which leave the caller in it
        started = time.perf_counter()
        status: int | None = None

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        except Exception as exc:
            self._log(scope, 500, started, error=type(exc).__name__)
            raise
        self._log(scope, status if status is not None else 500, started, error=None)

    def _log(self, scope: Scope, status: int, started: float, *, error: str | None) -> None:
        route = route_template(scope)
        if route is None and status == 404:
            route = str(scope.get("path", ""))
        caller, tenant = caller_of(scope)
        fields: dict[str, object] = {
            "method": scope.get("method"),
            "route": route,
            "path": str(scope.get("path", "")),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "request_id": request_id_for(scope),
            "correlation_id": correlation_id_for(scope),
            "client_ip": client_ip(scope),
            "user": caller.subject if caller is not None else None,
            "tenant": tenant,
        }
        if error is not None:
            fields["error"] = error
        if status >= 500:
            _log.error("request", **fields)
        else:
            _log.info("request", **fields)
