"""Give every request an id, bind it for the request's code, and echo it on every response.

A trusted caller (gateway, another service) may pass its own ``X-Request-ID`` so one id spans the whole
call chain; anything that does not look like an id is replaced rather than trusted, so header injection
and log forging through this header are impossible.

Public API: ``RequestIdMiddleware(app)`` (pure ASGI), ``EchoedIdMiddleware`` (the same for any id header),
``REQUEST_ID_PATTERN``, ``new_request_id() -> str``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from apibase.core.context import request_id
from apibase.interface.http.middleware.header_stage import with_header_edit
from apibase.interface.http.problems import REQUEST_ID_HEADER, REQUEST_ID_SCOPE_KEY

__all__ = ["REQUEST_ID_PATTERN", "EchoedIdMiddleware", "RequestIdMiddleware", "new_request_id"]

REQUEST_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")


_VERSION_4: Final = 0x4000 << 64  # the version nibble of a random UUID, as ``uuid.uuid4`` sets it
_RFC_4122: Final = 0x8000 << 48  # its variant bits
_CLEARED: Final = ~(0xF000 << 64) & ~(0xC000 << 48)


def new_request_id() -> str:
    """``uuid.uuid4().hex``, without building a ``UUID`` object (a measurable share of a small request)."""
    random = int.from_bytes(os.urandom(16))
    return f"{random & _CLEARED | _VERSION_4 | _RFC_4122:032x}"


class EchoedIdMiddleware:
    """Pure ASGI: a validated id from a request header (else ``fallback(scope)``), bound in ``variable`` and
    ``scope[scope_key]`` for the request and set on the response, replacing any the application set."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        header: str,
        scope_key: str,
        variable: ContextVar[str | None],
        fallback: Callable[[Scope], str],
    ) -> None:
        self.app = app
        self._header_key = header.lower().encode("latin-1")
        self._scope_key = scope_key
        self._variable = variable
        self._fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value = self._incoming(scope) or self._fallback(scope)
        scope[self._scope_key] = value
        key = self._header_key
        header = (key, value.encode("latin-1"))

        def replace_id(headers: list[tuple[bytes, bytes]]) -> None:
            headers[:] = [pair for pair in headers if pair[0].lower() != key]
            headers.append(header)

        token = self._variable.set(value)
        try:
            await self.app(scope, receive, with_header_edit(scope, send, replace_id))
        finally:
            self._variable.reset(token)

    def _incoming(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name.lower() == self._header_key:
                candidate = value.decode("latin-1")
                return candidate if REQUEST_ID_PATTERN.fullmatch(candidate) else None
        return None


class RequestIdMiddleware(EchoedIdMiddleware):
    """Accepts a well-formed incoming ``X-Request-ID`` or makes one, and adds it to the response.

    The id also goes into the scope, because Starlette's server-error handler runs outside every user
    middleware (after this one has reset the context variable) and still has to report it.
    """

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(
            app,
            header=REQUEST_ID_HEADER,
            scope_key=REQUEST_ID_SCOPE_KEY,
            variable=request_id,
            fallback=lambda scope: new_request_id(),
        )
