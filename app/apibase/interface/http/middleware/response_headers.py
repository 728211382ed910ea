"""Add headers to a response start message in one pass: the layers that set defaults share it.

Starlette's ``MutableHeaders.setdefault`` scans the whole header list once per header it adds, and decodes and
lowercases every name on each scan; security headers (six or seven) and rate-limit headers (three) on every
response made that a measurable part of each request. Here the names are encoded once, at start-up, and the
response's names are read once per message.

Public API: ``encode_headers(pairs) -> EncodedHeaders``, ``add_missing_headers(message, headers)``.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Message

__all__ = ["EncodedHeaders", "add_missing_headers", "encode_headers"]

#: Header name (lower-case latin-1 bytes, as ASGI sends them) and value.
type EncodedHeaders = tuple[tuple[bytes, bytes], ...]


def encode_headers(pairs: Iterable[tuple[str, str]]) -> EncodedHeaders:
    """``(name, value)`` pairs in the ASGI form; a name given twice keeps its first value, as ``setdefault`` does."""
    encoded: dict[bytes, bytes] = {}
    for name, value in pairs:
        encoded.setdefault(name.lower().encode("latin-1"), value.encode("latin-1"))
    return tuple(encoded.items())


def add_missing_headers(message: Message, headers: EncodedHeaders) -> None:
    """Append to ``message``'s headers each of ``headers`` whose name the response does not set itself."""
    current = message.get("headers")
    raw = current if type(current) is list else list(current or ())
    present = {name.lower() for name, _ in raw}
    raw.extend(pair for pair in headers if pair[0] not in present)
    message["headers"] = raw
