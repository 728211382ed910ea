"""Identity as a kernel module: sign-up, login, tokens, users and API keys, and the JWKS document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from apibase.application.identity.service import IdentityService
from apibase.domain.identity.permissions import KERNEL_PERMISSIONS, USERS_MANAGE, Permission
from apibase.infrastructure.observability.business_metrics import observe_login
from apibase.interface.http.identity import identity_router
from apibase.interface.http.jwks import jwks_router
from apibase.kernel import Kernel
from apibase.module import ALL_VERSIONS, Features, HealthCheck, Migrations

__all__ = ["IdentityModule"]


@dataclass(frozen=True)
class IdentityModule:
    name: str = "identity"
    #: Its tables belong to the kernel's own migration branch (``apibase``), which always runs first.
    migrations: Migrations | None = None

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {USERS_MANAGE: KERNEL_PERMISSIONS[USERS_MANAGE]}

    def build(self, kernel: Kernel) -> Features:
        async def identity() -> IdentityService:
            return kernel.security.identity

        settings = kernel.settings
        checks = []
        if settings.secrets.provider != "env":  # files and variables are local: nothing to reach
            checks.append(HealthCheck("secrets", kernel.security.check_secrets, vital=False))
        if settings.auth.external_jwks_url is not None:
            checks.append(HealthCheck("external_jwks", kernel.security.check_external_jwks, vital=False))
        auth = identity_router(
            identity, on_login=partial(observe_login, kernel.metrics), tenant_header=settings.tenancy.header
        )
        return Features(
            routers={ALL_VERSIONS: [auth]},
            root_routers=[jwks_router(lambda: kernel.security.key_ring)],
            health_checks=checks,
        )
