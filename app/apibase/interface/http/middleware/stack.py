"""The one place that orders the middleware stack: ``LAYERS``, outermost first, each with the reason for its place.

``install_middleware(app, stack)`` takes everything the layers need as one ``MiddlewareStack``, built by the
composition root (``apibase.composition.middleware``) from the settings and the kernel's stores; this module
reads no settings. A layer whose option is ``None`` is left out. Health probes are exempt from rate limits,
timeouts and logging noise, never from security headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from limits.aio.storage import Storage
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from apibase.application.ports.audit import AuditLog
from apibase.application.ports.idempotency import IdempotencyStore
from apibase.infrastructure.crypto.request_signing import RequestVerifier
from apibase.infrastructure.observability.metrics import Metrics
from apibase.interface.http.compression import CompressionMiddleware
from apibase.interface.http.cors import CorsOptions
from apibase.interface.http.middleware.audit import AuditMiddleware
from apibase.interface.http.middleware.body_limit import BodyLimitMiddleware
from apibase.interface.http.middleware.correlation import CorrelationIdMiddleware
from apibase.interface.http.middleware.header_stage import HeaderStageMiddleware
from apibase.interface.http.middleware.idempotency import IdempotencyMiddleware
from apibase.interface.http.middleware.json_only import JsonOnlyMiddleware
from apibase.interface.http.middleware.metrics import MetricsMiddleware
from apibase.interface.http.middleware.rate_limit import (
    RateLimitMiddleware,
    RateLimitSettings,
    RateLimitStrategy,
    user_id_from_state,
)
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.middleware.request_logging import RequestLoggingMiddleware
from apibase.interface.http.middleware.request_signing import RequestSigningMiddleware
from apibase.interface.http.middleware.security_headers import SecurityHeadersMiddleware, SecurityHeadersSettings
from apibase.interface.http.middleware.span_route import SpanRouteMiddleware
from apibase.interface.http.middleware.storable_text import StorableTextMiddleware
from apibase.interface.http.middleware.timeout import TimeoutMiddleware
from apibase.interface.http.security.authentication import AuthenticationMiddleware, Authenticator

__all__ = [
    "LAYERS",
    "MIDDLEWARE_ORDER",
    "Authentication",
    "Idempotency",
    "Layer",
    "MetricsExport",
    "MiddlewareStack",
    "RateLimits",
    "RequestSigning",
    "Tenancy",
    "active_layers",
    "install_middleware",
]

HEALTH_PREFIXES: Final = ("/health/",)
#: Credential-guessing targets: limited per client far below the general budget.
AUTH_ROUTES: Final = ("login", "register", "refresh")


@dataclass(frozen=True, kw_only=True)
class Tenancy:
    """Where a caller names its tenant, and the tenant of a request that names none."""

    header: str
    default_tenant: str


@dataclass(frozen=True, kw_only=True)
class Authentication:
    """Turn a bearer token or an API key into a principal."""

    access_tokens: Authenticator
    api_keys: Authenticator


@dataclass(frozen=True, kw_only=True)
class MetricsExport:
    """RED metrics into ``metrics``; the scrape endpoint at ``path`` is not measured itself."""

    metrics: Metrics
    path: str


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    """Both rate-limit layers count in ``storage``; ``user_limit=None`` leaves out the per-user layer."""

    storage: Storage
    client_limit: str | None
    user_limit: str | None
    #: Per client on every version's login, register and refresh routes.
    login_limit: str
    route_limits: Mapping[str, str]
    strategy: RateLimitStrategy
    trusted_proxy_hops: int


@dataclass(frozen=True, kw_only=True)
class RequestSigning:
    """Service-to-service HMAC on ``path_prefixes``; ``permissions``: what a validly signed caller may do."""

    verifier: RequestVerifier
    path_prefixes: Sequence[str]
    permissions: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class Idempotency:
    store: IdempotencyStore
    ttl_seconds: int


@dataclass(frozen=True, kw_only=True)
class MiddlewareStack:
    """Everything the layers need; ``None`` leaves the optional layer out."""

    tenancy: Tenancy
    authentication: Authentication
    audit_log: AuditLog
    security_headers: SecurityHeadersSettings
    compression_minimum_bytes: int
    timeout_seconds: float
    max_body_bytes: int
    #: The service's API versions: each one's ``/auth/`` routes are exempt from idempotency replays.
    api_versions: Sequence[str]
    #: Path patterns whose body is a file (exempt from the JSON-only check), contributed by modules.
    upload_paths: Sequence[str]
    #: Where brokers deliver events (Dapr, Knative): not rate-limited (the broker paces itself; a 429 is only
    #: retried), never replayed (the inbox deduplicates; a replayed RETRY would lie), payloads left to handlers.
    delivery_path_prefixes: Sequence[str]
    metrics: MetricsExport | None
    trace_routes: bool
    cors: CorsOptions | None
    rate_limits: RateLimits | None
    request_signing: RequestSigning | None
    idempotency: Idempotency | None


#: Builds one layer from the stack's configuration, or ``None`` when the configuration leaves it out.
type Layer = Callable[[MiddlewareStack], Middleware | None]


def _rate_limit(stack: MiddlewareStack, *, client: bool) -> Middleware | None:
    limits = stack.rate_limits
    if limits is None or (not client and limits.user_limit is None):
        return None
    # One template per route across versions: a separate budget per version would double the guesses allowed.
    auth_routes = {f"/api/{{version}}/auth/{route}": limits.login_limit for route in AUTH_ROUTES}
    settings = RateLimitSettings(
        client_limit=limits.client_limit if client else None,
        user_limit=None if client else limits.user_limit,
        route_limits={**auth_routes, **limits.route_limits} if client else {},
        strategy=limits.strategy,
        trusted_proxy_hops=limits.trusted_proxy_hops,
        exempt_path_prefixes=(*HEALTH_PREFIXES, *stack.delivery_path_prefixes),
    )
    if client:
        return Middleware(RateLimitMiddleware, settings=settings, storage=limits.storage)
    return Middleware(RateLimitMiddleware, settings=settings, storage=limits.storage, user_id=user_id_from_state)


def _request_signing(stack: MiddlewareStack) -> Middleware | None:
    signing = stack.request_signing
    if signing is None:
        return None
    return Middleware(
        RequestSigningMiddleware,
        verifier=signing.verifier,
        path_prefixes=signing.path_prefixes,
        permissions=signing.permissions,
        default_tenant=stack.tenancy.default_tenant,
        tenant_header=stack.tenancy.header,
    )


def _idempotency(stack: MiddlewareStack) -> Middleware | None:
    if stack.idempotency is None:
        return None
    return Middleware(
        IdempotencyMiddleware,
        store=stack.idempotency.store,
        ttl_seconds=stack.idempotency.ttl_seconds,
        # Tokens and API key secrets are issued once and kept nowhere in clear; a refresh must hit the reuse
        # detection every time. So credential routes are never stored or replayed.
        exempt_path_prefixes=(
            *(f"/api/{version}/auth/" for version in stack.api_versions),
            *stack.delivery_path_prefixes,
        ),
    )


LAYERS: Final[tuple[tuple[str, Layer], ...]] = (
    # One send wrapper adds the headers of the id, security and rate-limit layers (each hands its edit over). Every
    # layer that answers after calling inwards (timeout, body limit) sits inside all of those.
    ("header_stage", lambda stack: Middleware(HeaderStageMiddleware)),
    # Every later layer, log line and problem body can name the request.
    ("request_id", lambda stack: Middleware(RequestIdMiddleware)),
    # The flow's id (X-Correlation-ID, else the request id), bound before anything logs.
    ("correlation_id", lambda stack: Middleware(CorrelationIdMiddleware)),
    # Times and logs the whole request, rejections by later layers included.
    ("request_logging", lambda stack: Middleware(RequestLoggingMiddleware, exclude_path_prefixes=HEALTH_PREFIXES)),
    # RED metrics per route template, refusals by later layers (401/413/429) counted.
    (
        "metrics",
        lambda stack: (
            None
            if stack.metrics is None
            else Middleware(MetricsMiddleware, metrics=stack.metrics.metrics, exclude_paths=(stack.metrics.path,))
        ),
    ),
    # Names the request's trace span after its route template, as logs and metrics do.
    ("span_route", lambda stack: Middleware(SpanRouteMiddleware) if stack.trace_routes else None),
    # Hardening headers on every answer, 401/413/429 problems too.
    ("security_headers", lambda stack: Middleware(SecurityHeadersMiddleware, settings=stack.security_headers)),
    # Preflights are answered before authentication (browsers send no credentials there).
    ("cors", lambda stack: None if stack.cors is None else Middleware(CORSMiddleware, **stack.cors)),
    # Compresses whatever the layers below produce.
    ("compression", lambda stack: Middleware(CompressionMiddleware, minimum_size=stack.compression_minimum_bytes)),
    # Per client IP and per route, before any credential is checked: floods of forged tokens or login guesses
    # are counted too.
    ("client_rate_limit", lambda stack: _rate_limit(stack, client=True)),
    # Sees the final status of every mutating request, including 401/403 refusals.
    (
        "audit",
        lambda stack: Middleware(AuditMiddleware, log=stack.audit_log, default_tenant=stack.tenancy.default_tenant),
    ),
    # Credentials into a principal and tenant (context variables for the repositories).
    (
        "authentication",
        lambda stack: Middleware(
            AuthenticationMiddleware,
            access_token=stack.authentication.access_tokens,
            api_key=stack.authentication.api_keys,
            tenant_header=stack.tenancy.header,
            default_tenant=stack.tenancy.default_tenant,
        ),
    ),
    # Per authenticated user, wherever they connect from.
    ("user_rate_limit", lambda stack: _rate_limit(stack, client=False)),
    # Bounds the work below, slow request bodies included (504).
    (
        "timeout",
        lambda stack: Middleware(
            TimeoutMiddleware, timeout_seconds=stack.timeout_seconds, exempt_path_prefixes=HEALTH_PREFIXES
        ),
    ),
    # Bounds the streamed body (413) before anything buffers it.
    ("body_limit", lambda stack: Middleware(BodyLimitMiddleware, max_body_bytes=stack.max_body_bytes)),
    # Service-to-service HMAC on /internal/ paths.
    ("request_signing", _request_signing),
    # Replays a keyed POST/PATCH instead of running it twice.
    ("idempotency", _idempotency),
    # API writes must send JSON (415), uploads excepted.
    (
        "json_only",
        lambda stack: Middleware(JsonOnlyMiddleware, exempt_paths=tuple(re.compile(p) for p in stack.upload_paths)),
    ),
    # Text no supported database can store (U+0000) is a 422 naming where it was sent (path parameters are
    # named after routing, by the versioned API's request check).
    (
        "storable_text",
        lambda stack: Middleware(StorableTextMiddleware, exempt_path_prefixes=tuple(stack.delivery_path_prefixes)),
    ),
)
MIDDLEWARE_ORDER: Final = tuple(name for name, _ in LAYERS)


def active_layers(stack: MiddlewareStack) -> list[tuple[str, Middleware]]:
    """The layers ``stack`` switches on, by name, outermost first."""
    built = ((name, layer(stack)) for name, layer in LAYERS)
    return [(name, middleware) for name, middleware in built if middleware is not None]


def install_middleware(app: Starlette, stack: MiddlewareStack) -> None:
    """Add the active layers; Starlette wraps, so they are added innermost first."""
    for _, middleware in reversed(active_layers(stack)):
        cls, args, kwargs = middleware
        app.add_middleware(cls, *args, **kwargs)
