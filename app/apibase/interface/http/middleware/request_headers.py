"""Read one request header straight from the ASGI scope: what the layers ask of every request.

Starlette's ``Headers(scope=scope).get(name)`` answers an absent header by raising and catching a ``KeyError``
inside ``Mapping.get``; most headers the layers look for (``Content-Length`` and ``Content-Type`` on a GET, the
tenant header, an API key) are absent from most requests, so each look-up cost an exception. Same answer here:
the first value whose name equals ``name`` (ASGI sends names in lower case), decoded as latin-1.

Public API: ``request_header(scope, name) -> str | None``.
"""

from __future__ import annotations

from starlette.types import Scope

__all__ = ["request_header"]


def request_header(scope: Scope, name: bytes) -> str | None:
    """The first ``name`` header (lower-case bytes) of the request, or ``None``."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
