"""Identity as a kernel module: sign-up, login, tokens, users and API keys, and the JWKS document.

Its commands and queries run on the kernel's buses like any module's; the authentication middleware checks API
keys through the same bus (``SecurityContainer.authenticate_api_key``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from apibase.application.identity.dependencies import IdentityDependencies, IdentityRules
from apibase.application.identity.registration import register_identity_handlers
from apibase.domain.identity.permissions import KERNEL_PERMISSIONS, USERS_MANAGE, Permission
from apibase.infrastructure.observability.business_metrics import observe_login
from apibase.infrastructure.persistence.identity.wiring import identity_storage
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
        settings, security = kernel.settings, kernel.security
        auth = settings.auth
        dependencies = IdentityDependencies(
            storage=identity_storage(),
            hasher=security.hasher,
            tokens=security.token_minting,
            roles=security.roles,
            rules=IdentityRules(
                max_failed_logins=auth.max_failed_logins,
                lockout_seconds=auth.lockout_seconds,
                api_key_grace_seconds=auth.api_key_grace_seconds,
            ),
        )
        login = register_identity_handlers(kernel.commands, kernel.queries, dependencies)
        checks = []
        if settings.secrets.provider != "env":  # files and variables are local: nothing to reach
            checks.append(HealthCheck("secrets", security.check_secrets, vital=False))
        if auth.external_jwks_url is not None:
            checks.append(HealthCheck("external_jwks", security.check_external_jwks, vital=False))
        router = identity_router(
            kernel.commands,
            kernel.queries,
            login,
            on_login=partial(observe_login, kernel.metrics),
            tenant_header=settings.tenancy.header,
            roles=kernel.security.roles.assignable_roles,
        )
        return Features(
            routers={ALL_VERSIONS: [router]},
            root_routers=[jwks_router(lambda: kernel.security.key_ring)],
            health_checks=checks,
        )
