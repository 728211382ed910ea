"""Refuse text no supported database can store (the NUL character, U+0000) at the edge, with a 422 that names it.

SQLite keeps a NUL inside text, PostgreSQL cannot (``text`` and ``varchar`` end at 0x00): the same request would be
a 201 on one database and a driver error (500) on the other. So every request is checked once, before routing, in
every place a client can put text: the query string, the headers and a JSON body. Each refusal names where the
character is, as the client sent it: ``["query", "name__contains"]``, ``["header", "x-note"]``,
``["body", "lines", 0, "note"]``. Path parameters only have names once a route matched: the versioned API's
request check (``request_parameters.py``) refuses them with the same problem, ``["path", "entity_id"]``.

A JSON body can only carry a NUL as the escape ``\\u0000`` (a raw control character is not JSON), so bodies are
scanned for that escape and parsed only when it occurs. A body that does not parse is left to the application,
which answers 400. Other media types (file uploads) are binary and are not checked here.

Public API: ``StorableTextMiddleware(app, *, exempt_path_prefixes=())`` (pure ASGI),
``unstorable_text(locations) -> ValidationFailed``,
``UNSTORABLE_CHARACTER``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Final
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.core.errors import FieldError, ValidationFailed
from apibase.interface.http.middleware.json_only import is_json_media_type
from apibase.interface.http.middleware.request_headers import request_header
from apibase.interface.http.problems import send_problem

__all__ = ["UNSTORABLE_CHARACTER", "Loc", "StorableTextMiddleware", "unstorable_text"]

UNSTORABLE_CHARACTER: Final = "\x00"
_MESSAGE: Final = "contains the NUL character (U+0000, %00 in a URL), which cannot be stored; remove it"
_ERROR_TYPE: Final = "text.nul_character"
_DETAIL: Final = "Text must not contain the NUL character (U+0000): no supported database can store it."
_JSON_NUL_ESCAPE: Final = re.compile(rb"\\u0000")

type Loc = tuple[str | int, ...]


class StorableTextMiddleware:
    """Pure ASGI: a request carrying U+0000 in its query, headers or JSON body gets a 422 problem."""

    def __init__(self, app: ASGIApp, *, exempt_path_prefixes: Sequence[str] = ()) -> None:
        """``exempt_path_prefixes``: routes whose payload is not stored as sent (a broker's event deliveries)."""
        self.app = app
        self.exempt_path_prefixes = tuple(exempt_path_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.exempt_path_prefixes and str(scope["path"]).startswith(self.exempt_path_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        found = [*_in_query(scope), *_in_headers(scope)]
        if is_json_media_type(request_header(scope, b"content-type")):
            body = await _read_body(receive)
            found += _in_json_body(body)
            receive = _replay(body, receive)
        if found:
            problem = unstorable_text(found).to_problem_detail(instance=scope["path"])
            await send_problem(scope, receive, send, problem)
            return
        await self.app(scope, receive, send)


def unstorable_text(locations: Iterable[Loc]) -> ValidationFailed:
    """The 422 naming each place (once) that holds the character; path parameters are checked after routing."""
    errors = [FieldError(loc=loc, message=_MESSAGE, type=_ERROR_TYPE) for loc in dict.fromkeys(locations)]
    return ValidationFailed.from_field_errors(errors, _DETAIL)


def _in_query(scope: Scope) -> list[Loc]:
    query = scope.get("query_string", b"").decode("latin-1")
    if not query:
        return []
    return [
        ("query", name)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if UNSTORABLE_CHARACTER in name or UNSTORABLE_CHARACTER in value
    ]


def _in_headers(scope: Scope) -> list[Loc]:
    return [("header", name.decode("latin-1")) for name, value in scope["headers"] if b"\x00" in name + value]


async def _read_body(receive: Receive) -> bytes:
    """The whole body; the body-limit layer above bounds it, as it would for the application's own read."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the buffered body over once, then listens to the client again (disconnects)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _in_json_body(body: bytes) -> list[Loc]:
    if _JSON_NUL_ESCAPE.search(body) is None:
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []
    return [("body", *loc) for loc in _nul_locations(document, ())]


def _nul_locations(value: object, loc: Loc) -> Iterator[Loc]:
    if isinstance(value, str):
        if UNSTORABLE_CHARACTER in value:
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from ((*loc, key),) if UNSTORABLE_CHARACTER in key else _nul_locations(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_locations(item, (*loc, index))
