"""Refuse request bodies above a size limit before they cost memory, with a 413 problem.

The limit is checked twice: against ``Content-Length`` before the application runs, and against the bytes
actually received, because a chunked body has no ``Content-Length`` and a client may lie about it. An HTTP/1
request that frames no body (most GETs) is passed on untouched: it has none to count.

Public API: ``BodyLimitMiddleware(app, *, max_body_bytes)`` (pure ASGI), ``BodyTooLarge``.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.core.errors import PayloadTooLargeError
from apibase.interface.http.problems import send_problem

__all__ = ["BodyLimitMiddleware", "BodyTooLarge"]

#: HTTP versions whose requests have a body only if a header frames one: without ``Content-Length`` or
#: ``Transfer-Encoding`` the body is empty (RFC 9112, 6.3), whatever the client sends after the headers. HTTP/2 and
#: HTTP/3 send bodies in frames that need neither header, so their requests are always counted.
_LENGTH_FROM_HEADERS = frozenset({"1.0", "1.1"})


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the streamed body passes the limit.

    It is an ``HTTPException`` because FastAPI re-raises those from body parsing (anything else would become
    a 400); the application's problem handlers then answer 413, and this middleware does if nobody else did.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


class BodyLimitMiddleware:
    """Pure ASGI: requests whose body exceeds ``max_body_bytes`` get a 413 ``common.payload_too_large`` problem."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        if max_body_bytes < 0:
            raise ValueError("max_body_bytes must not be negative")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.detail = f"The request body exceeds the limit of {max_body_bytes} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, framed = _body_framing(scope)
        if declared > self.max_body_bytes:
            await self._reject(scope, receive, send)
            return
        if not framed and scope.get("http_version") in _LENGTH_FROM_HEADERS:
            await self.app(scope, receive, send)  # no body can follow: nothing to count, nothing to refuse
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.detail)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if response_started:  # the application answered before reading its body; nothing left to fix
                raise
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = PayloadTooLargeError(self.detail).to_problem_detail(instance=scope["path"])
        await send_problem(scope, receive, send, problem)


def _body_framing(scope: Scope) -> tuple[int, bool]:
    """The ``Content-Length`` as sent, or -1 when absent or unreadable (the byte count still applies); and whether
    the request names its body's length at all (``Content-Length`` or ``Transfer-Encoding``)."""
    value: str | None = None
    framed = False
    for name, raw in scope["headers"]:
        if name == b"content-length" and value is None:
            value, framed = raw.decode("latin-1"), True
        elif name == b"transfer-encoding":
            framed = True
    declared = int(value) if value is not None and value.isascii() and value.isdigit() else -1
    return declared, framed
