"""The one place that assembles the middleware stack, in a deliberate order (outermost first):

1. ``request_id``        — every later layer, log line and problem body can name the request.
2. ``correlation_id``    — the flow's id (``X-Correlation-ID``, else the request id), bound before anything logs.
3. ``request_logging``   — times and logs the whole request, rejections by later layers included.
4. ``metrics``           — RED metrics per route template, refusals by later layers (401/413/429) counted.
5. ``span_route``        — names the request's trace span after its route template, as logs and metrics do.
6. ``security_headers``  — hardening headers on every answer, 401/413/429 problems too.
7. ``cors``              — preflights are answered before authentication (browsers send no credentials there).
8. ``compression``       — compresses whatever the layers below produce.
9. ``client_rate_limit`` — per client IP and per route, before any credential is checked: floods of forged
                           tokens or login guesses are counted too.
10. ``audit``            — sees the final status of every mutating request, including 401/403 refusals.
11. ``authentication``   — credentials into a principal and tenant (context variables for the repositories).
12. ``user_rate_limit``  — per authenticated user, wherever they connect from.
13. ``timeout``          — bounds the work below, slow request bodies included (504).
14. ``body_limit``       — bounds the streamed body (413) before anything buffers it.
15. ``request_signing``  — service-to-service HMAC on ``/internal/`` paths.
16. ``idempotency``      — replays a keyed POST/PATCH instead of running it twice.
17. ``json_only``        — API writes must send JSON (415), uploads excepted.
18. ``storable_text``    — text no supported database can store (U+0000) is a 422 naming where it was sent
                           (path parameters are named after routing, by the versioned API's request check).

Health probes are exempt from rate limits, timeouts and logging noise, never from security headers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from limits.aio.storage import Storage
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware

from apibase.application.ports.audit import AuditLog
from apibase.application.ports.idempotency import IdempotencyStore
from apibase.core.settings import Settings
from apibase.infrastructure.crypto.request_signing import RequestVerifier
from apibase.infrastructure.observability.metrics import Metrics
from apibase.interface.http.compression import CompressionMiddleware
from apibase.interface.http.cors import cors_middleware_options
from apibase.interface.http.middleware.audit import AuditMiddleware
from apibase.interface.http.middleware.body_limit import BodyLimitMiddleware
from apibase.interface.http.middleware.correlation import CorrelationIdMiddleware
from apibase.interface.http.middleware.idempotency import IdempotencyMiddleware
from apibase.interface.http.middleware.json_only import JsonOnlyMiddleware
from apibase.interface.http.middleware.metrics import MetricsMiddleware
from apibase.interface.http.middleware.rate_limit import RateLimitMiddleware, RateLimitSettings, user_id_from_state
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.middleware.request_logging import RequestLoggingMiddleware
from apibase.interface.http.middleware.request_signing import RequestSigningMiddleware
from apibase.interface.http.middleware.security_headers import SecurityHeadersMiddleware, SecurityHeadersSettings
from apibase.interface.http.middleware.span_route import SpanRouteMiddleware
from apibase.interface.http.middleware.storable_text import StorableTextMiddleware
from apibase.interface.http.middleware.timeout import TimeoutMiddleware
from apibase.interface.http.security.authentication import AuthenticationMiddleware, Authenticator

__all__ = ["MIDDLEWARE_ORDER", "SecurityComponents", "install_middleware"]

MIDDLEWARE_ORDER: Final = (
    "request_id",
    "correlation_id",
    "request_logging",
    "metrics",
    "span_route",
    "security_headers",
    "cors",
    "compression",
    "client_rate_limit",
    "audit",
    "authentication",
    "user_rate_limit",
    "timeout",
    "body_limit",
    "request_signing",
    "idempotency",
    "json_only",
    "storable_text",
)
HEALTH_PREFIXES: Final = ("/health/",)
#: Credential-guessing targets: limited per client far below the general budget.
AUTH_ROUTES: Final = ("login", "register", "refresh")


@dataclass(frozen=True)
class SecurityComponents:
    """The stateful collaborators of the stack, built by the container (stores, verifiers, logs)."""

    access_tokens: Authenticator
    api_keys: Authenticator
    rate_limit_storage: Storage
    idempotency_store: IdempotencyStore
    audit_log: AuditLog
    request_verifier: RequestVerifier | None
    #: Path patterns whose body is a file (exempt from the JSON-only check), contributed by modules.
    upload_paths: Sequence[str] = ()
    #: The service's API versions: each one's ``/auth/`` routes are exempt from idempotency replays.
    api_versions: Sequence[str] = ("v1",)
    metrics: Metrics | None = None
    #: What a service calling ``/internal/`` with a valid signature may do: the role policy's ``service`` grants.
    service_permissions: frozenset[str] = frozenset()


def install_middleware(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    """Add the layers named in ``MIDDLEWARE_ORDER``; Starlette wraps, so they are added innermost first."""
    for name in reversed(MIDDLEWARE_ORDER):
        _ADD[name](app, settings, components)


def _request_id(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    app.add_middleware(RequestIdMiddleware)


def _correlation_id(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    app.add_middleware(CorrelationIdMiddleware)


def _request_logging(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    app.add_middleware(RequestLoggingMiddleware, exclude_path_prefixes=HEALTH_PREFIXES)


def _metrics(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    if components.metrics is not None and settings.observability.metrics_enabled:
        app.add_middleware(
            MetricsMiddleware, metrics=components.metrics, exclude_paths=(settings.observability.metrics_path,)
        )


def _span_route(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    if settings.observability.tracing_enabled:
        app.add_middleware(SpanRouteMiddleware)


def _security_headers(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    headers = settings.headers
    policy = SecurityHeadersSettings(hsts_max_age=headers.hsts_max_age, hsts_force=headers.hsts_force)
    if headers.content_security_policy is not None:
        policy = replace(policy, content_security_policy=headers.content_security_policy)
    app.add_middleware(SecurityHeadersMiddleware, settings=policy)


def _cors(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    if settings.cors.allowed_origins:
        options = cors_middleware_options(
            settings.environment, settings.cors.allowed_origins, settings.cors.allow_credentials
        )
        app.add_middleware(CORSMiddleware, **options)


def _compression(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    app.add_middleware(CompressionMiddleware, minimum_size=settings.compression_minimum_bytes)


def _limits(settings: Settings, *, client: bool) -> RateLimitSettings:
    section = settings.rate_limit
    # One template per route across versions: a separate budget per version would double the guesses allowed.
    auth_routes = {f"/api/{{version}}/auth/{route}": section.login_limit for route in AUTH_ROUTES}
    return RateLimitSettings(
        client_limit=section.client_limit if client else None,
        user_limit=None if client else section.user_limit,
        route_limits={**auth_routes, **section.route_limits} if client else {},
        strategy=section.strategy,
        trusted_proxy_hops=section.trusted_proxy_hops,
        exempt_path_prefixes=HEALTH_PREFIXES,
    )


def _client_rate_limit(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    if settings.rate_limit.enabled:
        limits = _limits(settings, client=True)
        app.add_middleware(RateLimitMiddleware, settings=limits, storage=components.rate_limit_storage)


def _audit(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    app.add_middleware(AuditMiddleware, log=components.audit_log, default_tenant=settings.tenancy.default_tenant)


def _authentication(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    app.add_middleware(
        AuthenticationMiddleware,
        access_token=components.access_tokens,
        api_key=components.api_keys,
        tenant_header=settings.tenancy.header,
        default_tenant=settings.tenancy.default_tenant,
    )


def _user_rate_limit(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    if settings.rate_limit.enabled and settings.rate_limit.user_limit is not None:
        limits = _limits(settings, client=False)
        app.add_middleware(
            RateLimitMiddleware, settings=limits, storage=components.rate_limit_storage, user_id=user_id_from_state
        )


def _timeout(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    app.add_middleware(
        TimeoutMiddleware, timeout_seconds=settings.request_timeout_seconds, exempt_path_prefixes=HEALTH_PREFIXES
    )


def _body_limit(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)


def _request_signing(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    if components.request_verifier is not None:
        app.add_middleware(
            RequestSigningMiddleware,
            verifier=components.request_verifier,
            path_prefixes=settings.signing.path_prefixes,
            permissions=components.service_permissions,
            default_tenant=settings.tenancy.default_tenant,
            tenant_header=settings.tenancy.header,
        )


def _idempotency(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    if settings.idempotency.enabled:
        app.add_middleware(
            IdempotencyMiddleware,
            store=components.idempotency_store,
            ttl_seconds=settings.idempotency.ttl_seconds,
            # Tokens and API key secrets are issued once and kept nowhere in clear; a refresh must hit the reuse
            # detection every time. So credential routes are never stored or replayed.
            exempt_path_prefixes=tuple(f"/api/{version}/auth/" for version in components.api_versions),
        )


def _json_only(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    app.add_middleware(JsonOnlyMiddleware, exempt_paths=tuple(re.compile(path) for path in components.upload_paths))


def _storable_text(app: Starlette, settings: Settings, components: SecurityComponents) -> None:
    app.add_middleware(StorableTextMiddleware)


_ADD = {
    "request_id": _request_id,
    "correlation_id": _correlation_id,
    "request_logging": _request_logging,
    "metrics": _metrics,
    "span_route": _span_route,
    "security_headers": _security_headers,
    "cors": _cors,
    "compression": _compression,
    "client_rate_limit": _client_rate_limit,
    "audit": _audit,
    "authentication": _authentication,
    "user_rate_limit": _user_rate_limit,
    "timeout": _timeout,
    "body_limit": _body_limit,
    "request_signing": _request_signing,
    "idempotency": _idempotency,
    "json_only": _json_only,
    "storable_text": _storable_text,
}
