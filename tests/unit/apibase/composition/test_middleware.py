"""A setting reaches the middleware option it names, and through ``create_app`` the installed layer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from apibase.composition.middleware import middleware_stack
from apibase.core.settings import Settings
from apibase.domain.identity.permissions import AUDIT_READ
from apibase.domain.identity.roles import SERVICE_ROLE, RolePolicy
from apibase.interface.http.middleware.body_limit import BodyLimitMiddleware
from apibase.interface.http.middleware.stack import MiddlewareStack
from apibase.kernel import Kernel, build_kernel
from apibase.main import create_app
from apibase.module import permission_registry
from apibase.modules import kernel_modules
from apibase.testing.service import service_settings

pytestmark = pytest.mark.unit


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    def settings(**overrides: object) -> Settings:
        return service_settings(tmp_path / "db.sqlite3", **overrides)

    return settings


async def stack_for(settings: Settings) -> MiddlewareStack:
    registry = permission_registry(kernel_modules())
    roles = RolePolicy(registry, {"viewer": [], SERVICE_ROLE: [AUDIT_READ]}, reserved=[SERVICE_ROLE])
    kernel: Kernel = build_kernel(settings, roles=roles)
    try:
        return middleware_stack(settings, kernel, api_versions=["v1", "v3"], upload_paths=[r"/api/v1/files/\w+"])
    finally:
        await kernel.stop()


@pytest.mark.parametrize(
    ("overrides", "option", "expected"),
    [
        ({"max_body_bytes": 4096}, lambda s: s.max_body_bytes, 4096),
        ({"request_timeout_seconds": 7.5}, lambda s: s.timeout_seconds, 7.5),
        ({"compression_minimum_bytes": 64}, lambda s: s.compression_minimum_bytes, 64),
        ({"tenancy": {"header": "X-Org"}}, lambda s: s.tenancy.header, "X-Org"),
        ({"tenancy": {"default_tenant": "acme"}}, lambda s: s.tenancy.default_tenant, "acme"),
        ({"headers": {"hsts_force": True}}, lambda s: s.security_headers.hsts_force, True),
        ({"headers": {"hsts_max_age": 60}}, lambda s: s.security_headers.hsts_max_age, 60),
        (
            {"headers": {"content_security_policy": "default-src 'self'"}},
            lambda s: s.security_headers.content_security_policy,
            "default-src 'self'",
        ),
        (
            {"cors": {"allowed_origins": ["https://a.example"]}},
            lambda s: s.cors["allow_origins"],
            ["https://a.example"],
        ),
        ({"cors": {"allowed_origins": []}}, lambda s: s.cors, None),
        ({"observability": {"metrics_path": "/m"}}, lambda s: s.metrics.path, "/m"),
        ({"observability": {"metrics_enabled": False}}, lambda s: s.metrics, None),
        ({"observability": {"tracing_enabled": True}}, lambda s: s.trace_routes, True),
        ({"rate_limit": {"login_limit": "3/minute"}}, lambda s: s.rate_limits.login_limit, "3/minute"),
        ({"rate_limit": {"client_limit": "9/second"}}, lambda s: s.rate_limits.client_limit, "9/second"),
        ({"rate_limit": {"user_limit": None}}, lambda s: s.rate_limits.user_limit, None),
        (
            {"rate_limit": {"route_limits": {"/a/*": "1/second"}}},
            lambda s: s.rate_limits.route_limits,
            {"/a/*": "1/second"},
        ),
        ({"rate_limit": {"strategy": "moving-window"}}, lambda s: s.rate_limits.strategy, "moving-window"),
        ({"rate_limit": {"trusted_proxy_hops": 2}}, lambda s: s.rate_limits.trusted_proxy_hops, 2),
        ({"rate_limit": {"enabled": False}}, lambda s: s.rate_limits, None),
        ({"idempotency": {"ttl_seconds": 600}}, lambda s: s.idempotency.ttl_seconds, 600),
        ({"idempotency": {"enabled": False}}, lambda s: s.idempotency, None),
        ({}, lambda s: s.request_signing, None),
        (
            {"signing": {"keys": {"k1": "s" * 32}, "path_prefixes": ["/svc/"]}},
            lambda s: (tuple(s.request_signing.path_prefixes), s.request_signing.permissions),
            (("/svc/",), frozenset({AUDIT_READ})),
        ),
    ],
)
async def test_a_setting_reaches_its_middleware_option(
    settings_for: Callable[..., Settings],
    overrides: dict[str, object],
    option: Callable[[MiddlewareStack], object],
    expected: object,
) -> None:
    stack = await stack_for(settings_for(**overrides))
    assert option(stack) == expected


async def test_the_services_versions_and_upload_paths_are_passed_through(
    settings_for: Callable[..., Settings],
) -> None:
    stack = await stack_for(settings_for())
    assert stack.api_versions == ("v1", "v3")
    assert stack.upload_paths == (r"/api/v1/files/\w+",)


async def test_an_unsafe_cors_setting_fails_the_composition(settings_for: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="CORS"):
        await stack_for(settings_for(cors={"allowed_origins": ["*"], "allow_credentials": True}))


def test_create_app_installs_the_layer_with_the_setting(settings_for: Callable[..., Settings]) -> None:
    app = create_app(settings_for(max_body_bytes=4096))
    installed: dict[object, dict[str, object]] = {layer.cls: layer.kwargs for layer in app.user_middleware}
    assert installed[BodyLimitMiddleware] == {"max_body_bytes": 4096}
