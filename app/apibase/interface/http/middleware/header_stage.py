"""One ``send`` wrapper for the layers that only add headers to the response's start message.

Request id, correlation id, security headers and both rate limits each wrapped ``send`` to edit
``http.response.start``: five closures per request, five calls per message and a copy of the header list each.
``HeaderStageMiddleware``, outside all of them, wraps ``send`` once; a layer inside it hands its edit to the
stage (``with_header_edit``), which applies every edit to the one start message, innermost layer first, as the
nested wrappers did. Without a stage outside (a layer used alone, a test), ``with_header_edit`` wraps ``send``
as before, so each layer keeps working on its own.

A layer may hand over its edit only if no layer between it and the stage answers after calling inwards (a 504
after a timeout, a 413 once the body ran over): the stage would put its headers on an answer its own wrapper
never saw. ``apibase.interface.http.middleware.stack`` keeps the timeout and body-limit layers inside every
layer that uses the stage.

Public API: ``HeaderStageMiddleware(app)`` (pure ASGI), ``with_header_edit(scope, send, edit) -> Send``,
``HeaderEdit``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeaderEdit", "HeaderStageMiddleware", "with_header_edit"]

#: Edits the start message's header list in place (ASGI form: lower-case latin-1 names).
type HeaderEdit = Callable[[list[tuple[bytes, bytes]]], None]

_EDITS = "apibase.header_edits"


class HeaderStageMiddleware:
    """Pure ASGI: applies the edits the layers inside it handed over to the response's start message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        edits: list[HeaderEdit] = []
        scope[_EDITS] = edits

        async def send_with_edits(message: Message) -> None:
            if message["type"] == "http.response.start" and edits:
                headers = list(message.get("headers", ()))
                for edit in reversed(edits):  # innermost first, as nested wrappers see the message
                    edit(headers)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_edits)


def with_header_edit(scope: Scope, send: Send, edit: HeaderEdit) -> Send:
    """``send`` for the layer's inner application: unchanged once ``edit`` is handed to the stage outside, else
    wrapped to apply ``edit`` itself."""
    edits = scope.get(_EDITS)
    if edits is not None:
        edits.append(edit)
        return send

    async def send_with_edit(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            edit(headers)
            message = {**message, "headers": headers}
        await send(message)

    return send_with_edit
