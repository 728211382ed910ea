"""Response compression: brotli or gzip, whichever the client prefers, above a size threshold.

The compressing itself is done by the libraries' pure ASGI responders (``brotli_asgi.BrotliResponder`` and
Starlette's ``GZipResponder``); this module only negotiates. Their own middlewares pick a coding by
substring (``"br" in Accept-Encoding``), which would send brotli to a client that said ``br;q=0``; here
``Accept-Encoding`` is read per RFC 9110 12.5.3 (q-values, ``*``, ``x-gzip``), and brotli wins a tie.

Public API:

- ``add_compression(app: Starlette, minimum_size: int = 500) -> None``.
- ``CompressionMiddleware(app, *, minimum_size=500, brotli_quality=4, gzip_level=6)`` (pure ASGI).
- ``negotiate_encoding(accept_encoding: str | None) -> "br" | "gzip" | None``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Final, Literal

from brotli_asgi import BrotliResponder, Mode
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipResponder, IdentityResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.interface.http.middleware.request_headers import request_header

__all__ = ["CompressionMiddleware", "Encoding", "add_compression", "negotiate_encoding"]

type Encoding = Literal["br", "gzip"]

_PREFERENCE: Final[tuple[Encoding, ...]] = ("br", "gzip")  # server preference, used to break ties
_BROTLI_WINDOW_BITS: Final = 22
_BROTLI_BLOCK_BITS: Final = 0  # let brotli choose from the quality


def negotiate_encoding(accept_encoding: str | None) -> Encoding | None:
    """The coding to use for ``accept_encoding``, or ``None`` to send the body as is."""
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        coding = "gzip" if coding.lower() == "x-gzip" else coding.lower()
        if coding and coding not in weights:
            weights[coding] = _quality(parameters)
    wildcard = weights.get("*", 0.0)
    best = max(_PREFERENCE, key=lambda coding: weights.get(coding, wildcard))
    return best if weights.get(best, wildcard) > 0 else None


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                return 0.0
            return weight if math.isfinite(weight) and 0.0 <= weight <= 1.0 else 0.0
    return 1.0


class CompressionMiddleware:
    """Pure ASGI: compresses responses of at least ``minimum_size`` bytes with the negotiated coding."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        minimum_size: int = 500,
        brotli_quality: int = 4,
        gzip_level: int = 6,
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.brotli_quality = brotli_quality
        self.gzip_level = gzip_level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding = _negotiated(request_header(scope, b"accept-encoding"))
        minimum_size = self.minimum_size
        held: Message | None = None
        forward: Send | None = None

        async def deciding_send(message: Message) -> None:
            """A response declared and sent whole below the threshold goes out as is, without a responder (what
            each responder would do with it, minus building its compressor); anything else goes to one."""
            nonlocal held, forward
            if forward is not None:
                await forward(message)
            elif held is None and message["type"] == "http.response.start" and _declared_length(message) < minimum_size:
                held = message
            elif held is not None and _small_whole_body(message, minimum_size):
                forward = send
                await send(held)
                await send(message)
            else:
                forward = self._responder(coding, send)
                if held is not None:
                    await forward(held)
                await forward(message)

        await self.app(scope, receive, deciding_send)

    def _responder(self, coding: Encoding | None, send: Send) -> Send:
        """The library responder's ``send`` for ``coding``, attached to ``send`` as its ``__call__`` would."""
        match coding:
            case "br":
                brotli = BrotliResponder(
                    self.app,
                    self.brotli_quality,
                    Mode.text,
                    _BROTLI_WINDOW_BITS,
                    _BROTLI_BLOCK_BITS,
                    self.minimum_size,
                )
                brotli.send = send
                return brotli.send_with_brotli
            case "gzip":
                responder: IdentityResponder = GZipResponder(self.app, self.minimum_size, compresslevel=self.gzip_level)
            case _:
                # Still adds ``Vary: Accept-Encoding`` to bodies that would have been compressed.
                responder = IdentityResponder(self.app, self.minimum_size)
        responder.send = send
        return responder.send_with_compression


@lru_cache(maxsize=64)
def _negotiated(accept_encoding: str | None) -> Encoding | None:
    """Clients send the same few ``Accept-Encoding`` values on every request: each is parsed once."""
    return negotiate_encoding(accept_encoding)


def _declared_length(start: Message) -> float:
    """The response's ``Content-Length``, or infinity when it declares none (or one that does not parse)."""
    for name, value in start.get("headers", ()):
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else math.inf
    return math.inf


def _small_whole_body(message: Message, minimum_size: int) -> bool:
    return (
        message["type"] == "http.response.body"
        and not message.get("more_body", False)
        and len(message.get("body", b"")) < minimum_size
    )


def add_compression(app: Starlette, minimum_size: int = 500) -> None:
    """Add ``CompressionMiddleware`` to ``app`` (outermost so far: add it after the body checks)."""
    app.add_middleware(CompressionMiddleware, minimum_size=minimum_size)
