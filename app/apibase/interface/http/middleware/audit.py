"""Record one audit entry per mutating request: who tried what on which resource, and how it ended.

Every POST/PUT/PATCH/DELETE is recorded once its response is complete, whatever the status: refused attempts
(401, 403) matter most in an audit trail. The actor and tenant come from ``scope["state"]`` (``principal``,
``tenant``), read after the response, so this middleware works inside the authentication middleware and also
outside it, where it records the requests that authentication refused as well (recommended).

The action is ``"<METHOD> <route template>"`` (``"DELETE /api/v2/products/{product_id}"``); the resource type is
the path segment before the route's last ``*_id``/``id`` parameter (``products``), or the last literal segment
for collection routes; the resource id is that parameter's value, or for a ``201`` the last segment of the
``Location`` header. A request no route matched is recorded with its raw path (never the query string) and
resource type ``unknown``.

Trade-off: the entry is written after the response, in its own transaction, and a failed write is logged at
error level (with the entry, so it can be replayed from the logs) but does not change the response. By then the
change is committed and the response sent: failing the request would not undo it, only mislead the client into
retrying a write that happened. Making the audit fail-closed would mean writing it inside each use case's unit
of work, which refused requests never reach. The cost: while the audit store is down, entries exist only in the
error log.

Public API: ``AuditMiddleware(app, *, log, methods=("POST", "PUT", "PATCH", "DELETE"), default_tenant="default")``
(pure ASGI), ``resource_of(template, path_params, location) -> (type, id | None)``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import unquote, urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.application.ports.audit import ANONYMOUS, AuditEntry, AuditLog
from apibase.interface.http.middleware.request_logging import caller_of, client_ip, route_template
from apibase.interface.http.problems import request_id_for

__all__ = ["AuditMiddleware", "resource_of"]

logger = logging.getLogger(__name__)

UNKNOWN_RESOURCE: Final = "unknown"
_PARAMETER: Final = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def resource_of(template: str, path_params: Mapping[str, object], location: str | None) -> tuple[str, str | None]:
    """The resource type and id a route template names (see the module docstring for the rules)."""
    segments = [segment for segment in template.split("/") if segment]
    literal_before: str | None = None
    found: tuple[str | None, str] | None = None
    for segment in segments:
        parameter = _PARAMETER.fullmatch(segment)
        if parameter is None:
            literal_before = segment
        elif parameter.group(1) == "id" or parameter.group(1).endswith("_id"):
            found = (literal_before, parameter.group(1))
    if found is not None:
        literal, name = found
        value = path_params.get(name)
        return literal or name.removesuffix("_id") or UNKNOWN_RESOURCE, None if value is None else str(value)
    literals = [segment for segment in segments if _PARAMETER.fullmatch(segment) is None]
    return literals[-1] if literals else UNKNOWN_RESOURCE, _last_segment(location)


def _last_segment(location: str | None) -> str | None:
    if not location:
        return None
    segment = urlsplit(location).path.rstrip("/").rpartition("/")[2]
    return unquote(segment) or None


class AuditMiddleware:
    """Pure ASGI; see the module docstring for what is recorded and why a failed write is only logged."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        log: AuditLog,
        methods: Iterable[str] = ("POST", "PUT", "PATCH", "DELETE"),
        default_tenant: str = "default",
    ) -> None:
        self.app = app
        self.log = log
        self.methods = frozenset(method.upper() for method in methods)
        self.default_tenant = default_tenant

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in self.methods:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with the authentication middleware, which leaves the caller in it
        status: int | None = None
        location: str | None = None

        async def watching_send(message: Message) -> None:
            nonlocal status, location
            if message["type"] == "http.response.start":
                status = int(message["status"])
                location = Headers(raw=message.get("headers", [])).get("location")
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception:
            await self._record(scope, status if status is not None else 500, location)
            raise
        await self._record(scope, status if status is not None else 500, location)

    async def _record(self, scope: Scope, status: int, location: str | None) -> None:
        entry = self._entry(scope, status, location if status == 201 else None)
        try:
            await self.log.record(entry)
        except Exception:
            logger.exception("audit entry could not be written: %r", entry)

    def _entry(self, scope: Scope, status: int, location: str | None) -> AuditEntry:
        caller, tenant = caller_of(scope)
        template = route_template(scope)
        if template is None:
            action_path, resource_type, resource_id = str(scope.get("path", "")), UNKNOWN_RESOURCE, None
        else:
            path_params = scope.get("path_params")
            params = path_params if isinstance(path_params, Mapping) else {}
            action_path = template
            resource_type, resource_id = resource_of(template, params, location)
        return AuditEntry(
            id=uuid.uuid4(),
            occurred_at=datetime.now(UTC),
            actor=caller.subject if caller is not None else ANONYMOUS,
            actor_method=caller.method if caller is not None else None,
            tenant=tenant or self.default_tenant,
            action=f"{scope['method']} {action_path}",
            resource_type=resource_type,
            resource_id=resource_id,
            outcome=status,
            request_id=request_id_for(scope),
            client_ip=client_ip(scope),
        )
