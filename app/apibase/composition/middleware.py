"""Settings → the middleware stack's configuration: the one place the stack's options are read from ``Settings``.

The stack itself (``apibase.interface.http.middleware.stack``) takes the ``MiddlewareStack`` built here as an
argument and reads no settings, so a test or another composition can build one by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from apibase.core.settings import HeadersSettings, Settings
from apibase.domain.identity.roles import SERVICE_ROLE
from apibase.interface.http.cors import cors_middleware_options
from apibase.interface.http.events import DELIVERY_PATH_PREFIXES
from apibase.interface.http.middleware.security_headers import SecurityHeadersSettings
from apibase.interface.http.middleware.stack import (
    Authentication,
    Idempotency,
    MetricsExport,
    MiddlewareStack,
    RateLimits,
    RequestSigning,
    Tenancy,
)
from apibase.kernel import Kernel

__all__ = ["middleware_stack"]


def middleware_stack(
    settings: Settings, kernel: Kernel, *, api_versions: Sequence[str], upload_paths: Sequence[str]
) -> MiddlewareStack:
    """``api_versions``: the service's API version names; ``upload_paths``: the modules' file-body path patterns."""
    security, observability, limits, cors = kernel.security, settings.observability, settings.rate_limit, settings.cors
    verifier = security.request_verifier
    return MiddlewareStack(
        tenancy=Tenancy(header=settings.tenancy.header, default_tenant=settings.tenancy.default_tenant),
        authentication=Authentication(
            access_tokens=security.authenticate_access_token, api_keys=security.authenticate_api_key
        ),
        audit_log=security.audit_log,
        security_headers=_security_headers(settings.headers),
        compression_minimum_bytes=settings.compression_minimum_bytes,
        timeout_seconds=settings.request_timeout_seconds,
        max_body_bytes=settings.max_body_bytes,
        api_versions=tuple(api_versions),
        upload_paths=tuple(upload_paths),
        delivery_path_prefixes=DELIVERY_PATH_PREFIXES,
        metrics=MetricsExport(metrics=kernel.metrics, path=observability.metrics_path)
        if observability.metrics_enabled
        else None,
        trace_routes=observability.tracing_enabled,
        cors=cors_middleware_options(settings.environment, cors.allowed_origins, cors.allow_credentials)
        if cors.allowed_origins
        else None,
        rate_limits=RateLimits(
            storage=security.rate_limit_storage,
            client_limit=limits.client_limit,
            user_limit=limits.user_limit,
            login_limit=limits.login_limit,
            route_limits=limits.route_limits,
            strategy=limits.strategy,
            trusted_proxy_hops=limits.trusted_proxy_hops,
        )
        if limits.enabled
        else None,
        request_signing=RequestSigning(
            verifier=verifier,
            path_prefixes=settings.signing.path_prefixes,
            permissions=security.roles.permissions_for([SERVICE_ROLE]),
        )
        if verifier is not None
        else None,
        idempotency=Idempotency(store=security.idempotency_store, ttl_seconds=settings.idempotency.ttl_seconds)
        if settings.idempotency.enabled
        else None,
    )


def _security_headers(headers: HeadersSettings) -> SecurityHeadersSettings:
    """The middleware's own defaults, but for what the settings change (no CSP setting keeps the API's)."""
    policy = SecurityHeadersSettings(hsts_max_age=headers.hsts_max_age, hsts_force=headers.hsts_force)
    if headers.content_security_policy is None:
        return policy
    return replace(policy, content_security_policy=headers.content_security_policy)
