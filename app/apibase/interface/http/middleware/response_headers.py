"""Add headers to a response's header list in one pass: the layers that set defaults share it.

Starlette's ``MutableHeaders.setdefault`` scans the whole header list once per header it adds, and decodes and
lowercases every name on each scan; security headers (six or seven) and rate-limit headers (three) on every
response made that a measurable part of each request. Here the names are encoded once, at start-up, and the
response's names are read once per message.

Public API: ``encode_headers(pairs) -> EncodedHeaders``, ``add_missing_headers(raw, headers)``,
``adding_missing(headers) -> HeaderEdit``.
"""

from __future__ import annotations

from collections.abc import Iterable

from apibase.interface.http.middleware.header_stage import HeaderEdit

__all__ = ["EncodedHeaders", "add_missing_headers", "adding_missing", "encode_headers"]

#: Header name (lower-case latin-1 bytes, as ASGI sends them) and value.
type EncodedHeaders = tuple[tuple[bytes, bytes], ...]


def encode_headers(pairs: Iterable[tuple[str, str]]) -> EncodedHeaders:
    """``(name, value)`` pairs in the ASGI form; a name given twice keeps its first value, as ``setdefault`` does."""
    encoded: dict[bytes, bytes] = {}
    for name, value in pairs:
        encoded.setdefault(name.lower().encode("latin-1"), value.encode("latin-1"))
    return tuple(encoded.items())


def add_missing_headers(raw: list[tuple[bytes, bytes]], headers: EncodedHeaders) -> None:
    """Append to ``raw`` (a response's header list) each of ``headers`` whose name the response does not set."""
    present = {name.lower() for name, _ in raw}
    raw.extend(pair for pair in headers if pair[0] not in present)


def adding_missing(headers: EncodedHeaders) -> HeaderEdit:
    """The header edit that adds ``headers`` where the response does not set them itself."""

    def edit(raw: list[tuple[bytes, bytes]]) -> None:
        add_missing_headers(raw, headers)

    return edit
