"""Give every request an id, bind it for the request's code, and echo it on every response.

A trusted caller (gateway, another service) may pass its own ``X-Request-ID`` so one id spans the whole
call chain; anything that does not look like an id is replaced rather than trusted, so header injection
and log forging through this header are impossible.

Public API: ``RequestIdMiddleware(app)`` (pure ASGI), ``REQUEST_ID_PATTERN``, ``new_request_id() -> str``.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.context import request_id
from app.interface.http.problems import REQUEST_ID_HEADER, REQUEST_ID_SCOPE_KEY

__all__ = ["REQUEST_ID_PATTERN", "RequestIdMiddleware", "new_request_id"]

REQUEST_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_HEADER_KEY: Final = REQUEST_ID_HEADER.lower().encode("latin-1")


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI: accepts a well-formed incoming ``X-Request-ID`` or makes one, and adds it to the response.

    The id also goes into the scope, because Starlette's server-error handler runs outside every user
    middleware (after this one has reset the context variable) and still has to report it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or new_request_id()
        scope[REQUEST_ID_SCOPE_KEY] = rid
        header = (_HEADER_KEY, rid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", ()) if name.lower() != _HEADER_KEY]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == _HEADER_KEY:
            candidate = value.decode("latin-1")
            return candidate if REQUEST_ID_PATTERN.fullmatch(candidate) else None
    return None
