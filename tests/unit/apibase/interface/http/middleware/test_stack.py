"""The stack installs ``LAYERS`` in their order, from nothing but the ``MiddlewareStack`` it is given."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from enum import StrEnum

import pytest
from limits.aio.storage import MemoryStorage
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from apibase.application.in_memory.audit import InMemoryAuditLog
from apibase.application.in_memory.idempotency import InMemoryIdempotencyStore
from apibase.core.errors import AppError, DependencyUnavailable
from apibase.core.principal import Principal
from apibase.core.result import Err, Result
from apibase.core.settings import Environment
from apibase.infrastructure.crypto.request_signing import RequestVerifier, SigningKey
from apibase.infrastructure.observability.metrics import Metrics
from apibase.interface.http.compression import CompressionMiddleware
from apibase.interface.http.cors import cors_middleware_options
from apibase.interface.http.middleware.audit import AuditMiddleware
from apibase.interface.http.middleware.body_limit import BodyLimitMiddleware
from apibase.interface.http.middleware.correlation import CorrelationIdMiddleware
from apibase.interface.http.middleware.header_stage import HeaderStageMiddleware
from apibase.interface.http.middleware.idempotency import IdempotencyMiddleware
from apibase.interface.http.middleware.json_only import JsonOnlyMiddleware
from apibase.interface.http.middleware.metrics import MetricsMiddleware
from apibase.interface.http.middleware.rate_limit import RateLimitMiddleware, RateLimitSettings, user_id_from_state
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.middleware.request_logging import RequestLoggingMiddleware
from apibase.interface.http.middleware.request_signing import RequestSigningMiddleware
from apibase.interface.http.middleware.security_headers import SecurityHeadersMiddleware, SecurityHeadersSettings
from apibase.interface.http.middleware.span_route import SpanRouteMiddleware
from apibase.interface.http.middleware.stack import (
    MIDDLEWARE_ORDER,
    Authentication,
    Idempotency,
    MetricsExport,
    MiddlewareStack,
    RateLimits,
    RequestSigning,
    Tenancy,
    active_layers,
    install_middleware,
)
from apibase.interface.http.middleware.storable_text import StorableTextMiddleware
from apibase.interface.http.middleware.timeout import TimeoutMiddleware
from apibase.interface.http.security.authentication import AuthenticationMiddleware

pytestmark = pytest.mark.unit

OPTIONAL = {"metrics", "span_route", "cors", "client_rate_limit", "user_rate_limit", "request_signing", "idempotency"}


async def nobody(credential: str) -> Result[Principal, AppError[StrEnum]]:
    return Err(DependencyUnavailable("not in this test"))


@pytest.fixture
def full() -> Iterator[MiddlewareStack]:
    metrics = Metrics()
    yield MiddlewareStack(
        tenancy=Tenancy(header="X-Org", default_tenant="acme"),
        authentication=Authentication(access_tokens=nobody, api_keys=nobody),
        audit_log=InMemoryAuditLog(),
        security_headers=SecurityHeadersSettings(hsts_force=True),
        compression_minimum_bytes=10,
        timeout_seconds=3.0,
        max_body_bytes=2048,
        api_versions=("v1", "v2"),
        upload_paths=(r"/api/v[0-9]+/files/[^/]+",),
        delivery_path_prefixes=("/events", "/dapr/"),
        metrics=MetricsExport(metrics=metrics, path="/metrics"),
        trace_routes=True,
        cors=cors_middleware_options(Environment.TEST, ["https://app.example"], allow_credentials=False),
        rate_limits=RateLimits(
            storage=MemoryStorage(),
            client_limit="5/minute",
            user_limit="7/minute",
            login_limit="2/minute",
            route_limits={"/api/v1/items": "3/minute"},
            strategy="fixed-window",
            trusted_proxy_hops=1,
        ),
        request_signing=RequestSigning(
            verifier=RequestVerifier([SigningKey("k1", b"s" * 32)]),
            path_prefixes=("/internal/",),
            permissions=frozenset({"orders:read"}),
        ),
        idempotency=Idempotency(store=InMemoryIdempotencyStore(), ttl_seconds=120),
    )
    metrics.close()


@pytest.fixture
def bare(full: MiddlewareStack) -> MiddlewareStack:
    return replace(
        full,
        metrics=None,
        trace_routes=False,
        cors=None,
        rate_limits=None,
        request_signing=None,
        idempotency=None,
    )


def layer(stack: MiddlewareStack, name: str) -> Middleware:
    return dict(active_layers(stack))[name]


def test_a_full_stack_installs_every_layer_outermost_first(full: MiddlewareStack) -> None:
    app = Starlette()
    install_middleware(app, full)
    assert [name for name, _ in active_layers(full)] == list(MIDDLEWARE_ORDER)
    installed: list[object] = [middleware.cls for middleware in app.user_middleware]
    assert installed == [
        HeaderStageMiddleware,
        RequestIdMiddleware,
        CorrelationIdMiddleware,
        RequestLoggingMiddleware,
        MetricsMiddleware,
        SpanRouteMiddleware,
        SecurityHeadersMiddleware,
        CORSMiddleware,
        CompressionMiddleware,
        RateLimitMiddleware,
        AuditMiddleware,
        AuthenticationMiddleware,
        RateLimitMiddleware,
        TimeoutMiddleware,
        BodyLimitMiddleware,
        RequestSigningMiddleware,
        IdempotencyMiddleware,
        JsonOnlyMiddleware,
        StorableTextMiddleware,
    ]


def test_an_option_left_out_leaves_its_layer_out_and_the_order_alone(bare: MiddlewareStack) -> None:
    app = Starlette()
    install_middleware(app, bare)
    names = [name for name, _ in active_layers(bare)]
    assert names == [name for name in MIDDLEWARE_ORDER if name not in OPTIONAL]
    assert len(app.user_middleware) == len(names)


def test_without_a_user_limit_only_the_client_layer_counts(full: MiddlewareStack) -> None:
    assert full.rate_limits is not None
    stack = replace(full, rate_limits=replace(full.rate_limits, user_limit=None))
    names = [name for name, _ in active_layers(stack)]
    assert "client_rate_limit" in names
    assert "user_rate_limit" not in names


def test_the_client_layer_guards_the_credential_routes_and_the_user_layer_the_caller(full: MiddlewareStack) -> None:
    assert full.rate_limits is not None
    client, user = layer(full, "client_rate_limit"), layer(full, "user_rate_limit")
    assert client.kwargs["settings"] == RateLimitSettings(
        client_limit="5/minute",
        user_limit=None,
        route_limits={
            "/api/{version}/auth/login": "2/minute",
            "/api/{version}/auth/register": "2/minute",
            "/api/{version}/auth/refresh": "2/minute",
            "/api/v1/items": "3/minute",
        },
        strategy="fixed-window",
        trusted_proxy_hops=1,
        exempt_path_prefixes=("/health/", "/events", "/dapr/"),
    )
    assert user.kwargs["settings"] == RateLimitSettings(
        client_limit=None,
        user_limit="7/minute",
        strategy="fixed-window",
        trusted_proxy_hops=1,
        exempt_path_prefixes=("/health/", "/events", "/dapr/"),
    )
    assert user.kwargs["user_id"] is user_id_from_state
    assert client.kwargs["storage"] is user.kwargs["storage"] is full.rate_limits.storage


def test_the_layers_take_their_options_from_the_stack(full: MiddlewareStack) -> None:
    assert layer(full, "idempotency").kwargs["exempt_path_prefixes"] == (
        "/api/v1/auth/",
        "/api/v2/auth/",
        "/events",
        "/dapr/",
    )
    assert layer(full, "storable_text").kwargs == {"exempt_path_prefixes": ("/events", "/dapr/")}
    assert layer(full, "idempotency").kwargs["ttl_seconds"] == 120
    assert layer(full, "json_only").kwargs["exempt_paths"] == (re.compile(r"/api/v[0-9]+/files/[^/]+"),)
    assert layer(full, "body_limit").kwargs == {"max_body_bytes": 2048}
    assert layer(full, "timeout").kwargs == {"timeout_seconds": 3.0, "exempt_path_prefixes": ("/health/",)}
    assert layer(full, "compression").kwargs == {"minimum_size": 10}
    assert layer(full, "metrics").kwargs["exclude_paths"] == ("/metrics",)
    assert layer(full, "security_headers").kwargs == {"settings": full.security_headers}
    assert layer(full, "cors").kwargs["allow_origins"] == ["https://app.example"]
    for name in ("authentication", "request_signing"):
        assert layer(full, name).kwargs["tenant_header"] == "X-Org"
        assert layer(full, name).kwargs["default_tenant"] == "acme"
    assert layer(full, "audit").kwargs["default_tenant"] == "acme"
    assert layer(full, "request_signing").kwargs["permissions"] == frozenset({"orders:read"})
