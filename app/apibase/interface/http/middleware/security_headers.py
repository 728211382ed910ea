"""Add the OWASP-recommended security headers to every HTTP response.

An API answering JSON needs none of a browser's riskier features, so the defaults deny them all; only the
interactive docs pages (Swagger UI, ReDoc) get a Content-Security-Policy that lets them run: their assets come
from this same origin (``docs_pages``), so nothing outside it is allowed. A header the application set itself
always wins: an endpoint that knows better (say, a page that must be framed) is never overridden.

Public API: ``SecurityHeadersMiddleware(app, *, settings=SecurityHeadersSettings())`` (pure ASGI),
``SecurityHeadersSettings``, ``API_CONTENT_SECURITY_POLICY``, ``DOCS_CONTENT_SECURITY_POLICY``,
``DEFAULT_DOCS_PATH_PATTERN``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from apibase.interface.http.middleware.header_stage import with_header_edit
from apibase.interface.http.middleware.response_headers import adding_missing, encode_headers

__all__ = [
    "API_CONTENT_SECURITY_POLICY",
    "DEFAULT_DOCS_PATH_PATTERN",
    "DEFAULT_PERMISSIONS_POLICY",
    "DOCS_CONTENT_SECURITY_POLICY",
    "SecurityHeadersMiddleware",
    "SecurityHeadersSettings",
]

#: JSON responses never load, embed or get embedded in anything.
API_CONTENT_SECURITY_POLICY: Final = "default-src 'none'; frame-ancestors 'none'"
#: Swagger UI and ReDoc load their scripts, styles and favicon from this origin, run one inline bootstrap script,
#: fetch the OpenAPI document and "Try it out" calls from this origin, draw inline styles and data: images, and ReDoc
#: starts a blob: web worker; nothing else is allowed, no other origin above all.
DOCS_CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; "
    "img-src 'self' data:; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "frame-ancestors 'none'; "
    "base-uri 'none'; "
    "form-action 'none'"
)
#: The versioned docs pages, e.g. ``/api/v1/docs`` and ``/api/v2/redoc``.
DEFAULT_DOCS_PATH_PATTERN: Final = r"/api/v[0-9]+/(docs|redoc)"
#: Powerful browser features an API page never needs.
DEFAULT_PERMISSIONS_POLICY: Final = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)


@dataclass(frozen=True, slots=True)
class SecurityHeadersSettings:
    """What the middleware sends; frozen so a running service cannot loosen it by accident.

    HSTS goes out only over HTTPS (browsers ignore it on plain HTTP, and it would pin a local dev host), unless
    ``hsts_force`` says TLS ends at a proxy that does not forward the scheme. ``hsts_max_age=0`` tells browsers
    to forget the pin; ``None`` in any other header field leaves that header out.
    """

    hsts_max_age: int | None = 63_072_000  # two years, the hstspreload.org minimum is one
    hsts_include_subdomains: bool = True
    hsts_preload: bool = False
    hsts_force: bool = False
    content_security_policy: str | None = API_CONTENT_SECURITY_POLICY
    docs_content_security_policy: str | None = DOCS_CONTENT_SECURITY_POLICY
    docs_path_pattern: str = DEFAULT_DOCS_PATH_PATTERN
    content_type_options: str | None = "nosniff"
    frame_options: str | None = "DENY"
    referrer_policy: str | None = "no-referrer"
    permissions_policy: str | None = DEFAULT_PERMISSIONS_POLICY
    cross_origin_opener_policy: str | None = "same-origin"

    def __post_init__(self) -> None:
        if self.hsts_max_age is not None and self.hsts_max_age < 0:
            raise ValueError("hsts_max_age must not be negative")
        re.compile(self.docs_path_pattern)  # fail at start-up, not on the first request

    def strict_transport_security(self) -> str | None:
        if self.hsts_max_age is None:
            return None
        value = f"max-age={self.hsts_max_age}"
        if self.hsts_include_subdomains:
            value += "; includeSubDomains"
        if self.hsts_preload:
            value += "; preload"
        return value


class SecurityHeadersMiddleware:
    """Pure ASGI: adds the configured headers to each ``http.response.start`` unless the app already set them."""

    def __init__(self, app: ASGIApp, *, settings: SecurityHeadersSettings | None = None) -> None:
        self.app = app
        self.settings = settings or SecurityHeadersSettings()
        self._docs_path = re.compile(self.settings.docs_path_pattern)
        self._api_headers = self._headers(self.settings.content_security_policy)
        self._docs_headers = self._headers(self.settings.docs_content_security_policy)
        self._hsts = self.settings.strict_transport_security()
        # Every combination encoded once: (docs page?, HSTS sent?) -> the edit adding its headers.
        hsts = (("Strict-Transport-Security", self._hsts),) if self._hsts is not None else ()
        self._edits = {
            (docs, with_hsts): adding_missing(
                encode_headers((*(self._docs_headers if docs else self._api_headers), *(hsts if with_hsts else ())))
            )
            for docs in (False, True)
            for with_hsts in (False, True)
        }

    def _headers(self, csp: str | None) -> tuple[tuple[str, str], ...]:
        settings = self.settings
        candidates = (
            ("Content-Security-Policy", csp),
            ("X-Content-Type-Options", settings.content_type_options),
            ("X-Frame-Options", settings.frame_options),
            ("Referrer-Policy", settings.referrer_policy),
            ("Permissions-Policy", settings.permissions_policy),
            ("Cross-Origin-Opener-Policy", settings.cross_origin_opener_policy),
        )
        return tuple((name, value) for name, value in candidates if value is not None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = self._docs_path.fullmatch(str(scope["path"])) is not None
        hsts = self._hsts is not None and (self.settings.hsts_force or scope.get("scheme") == "https")
        await self.app(scope, receive, with_header_edit(scope, send, self._edits[docs, hsts]))
