"""CORS options for Starlette's ``CORSMiddleware``, with an explicit, checked policy per environment.

CORS mistakes are silent: a wildcard origin with credentials, or ``*`` in production, lets any web page act
with a signed-in user's cookies or read private answers, and nothing fails. So the options are built here and
refused loudly at start-up instead:

- every environment: ``allow_credentials=True`` with the ``*`` origin is a ``ValueError`` (browsers refuse it, and
  Starlette would "fix" it by reflecting any origin, which is worse); every origin must be a bare
  ``scheme://host[:port]`` (a trailing slash or path never matches the browser's ``Origin``);
- production: no ``*`` at all, and only ``https://`` origins; preflights are cached for an hour;
- staging, development and test: ``http://`` origins and ``*`` (without credentials) are tolerated for test
  front ends; development and test cache preflights for a minute only, so a changed policy shows up at once.

No origins means no cross-origin access at all. Methods and headers are listed explicitly, never ``*``.

Public API: ``cors_middleware_options(environment, allowed_origins, allow_credentials) -> CorsOptions``,
``CorsOptions``, ``CORS_ALLOWED_METHODS``, ``CORS_ALLOWED_HEADERS``, ``CORS_EXPOSED_HEADERS``. Wire it with
``app.add_middleware(CORSMiddleware, **cors_middleware_options(...))``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, TypedDict

from apibase.core.settings import Environment

__all__ = [
    "CORS_ALLOWED_HEADERS",
    "CORS_ALLOWED_METHODS",
    "CORS_EXPOSED_HEADERS",
    "CorsOptions",
    "cors_middleware_options",
]

CORS_ALLOWED_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
CORS_ALLOWED_HEADERS: Final = (
    "Accept",
    "Accept-Language",
    "Authorization",
    "Content-Language",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Correlation-ID",
    "X-Request-ID",
)
#: Response headers a browser script may read besides the CORS-safelisted ones.
CORS_EXPOSED_HEADERS: Final = (
    "ETag",
    "Link",
    "Location",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "X-Correlation-ID",
    "X-Request-ID",
)

_WILDCARD: Final = "*"
_ORIGIN: Final = re.compile(r"(?P<scheme>https?)://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_MAX_AGE: Final = {
    Environment.DEVELOPMENT: 60,
    Environment.TEST: 60,
    Environment.STAGING: 600,
    Environment.PRODUCTION: 3600,
}


class CorsOptions(TypedDict):
    """Keyword arguments of ``starlette.middleware.cors.CORSMiddleware``."""

    allow_origins: list[str]
    allow_methods: list[str]
    allow_headers: list[str]
    allow_credentials: bool
    expose_headers: list[str]
    max_age: int


def cors_middleware_options(
    environment: Environment | str,
    allowed_origins: Iterable[str],
    allow_credentials: bool,
) -> CorsOptions:
    """The checked ``CORSMiddleware`` kwargs for ``environment``; a ``ValueError`` names what is unsafe."""
    env = Environment(environment)
    origins = list(dict.fromkeys(origin.strip() for origin in allowed_origins if origin.strip()))
    wildcard = _WILDCARD in origins
    if wildcard and allow_credentials:
        raise ValueError(
            "CORS: allow_credentials=True cannot be combined with the '*' origin; list the trusted origins instead"
        )
    if wildcard and env is Environment.PRODUCTION:
        raise ValueError("CORS: the '*' origin is not allowed in production; list the trusted origins instead")
    if wildcard and len(origins) > 1:
        raise ValueError("CORS: '*' already allows every origin; do not list others next to it")
    for origin in origins:
        if origin == _WILDCARD:
            continue
        match = _ORIGIN.fullmatch(origin)
        if match is None:
            raise ValueError(f"CORS: {origin!r} is not an origin (scheme://host[:port], no path or trailing slash)")
        if env is Environment.PRODUCTION and match.group("scheme") != "https":
            raise ValueError(f"CORS: production allows only https:// origins, not {origin!r}")
    return CorsOptions(
        allow_origins=origins,
        allow_methods=list(CORS_ALLOWED_METHODS),
        allow_headers=list(CORS_ALLOWED_HEADERS),
        allow_credentials=allow_credentials,
        expose_headers=list(CORS_EXPOSED_HEADERS),
        max_age=_MAX_AGE[env],
    )
