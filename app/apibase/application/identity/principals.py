"""Building the ``Principal`` from what authentication proved: roles expand to permissions here, once."""

from __future__ import annotations

from collections.abc import Iterable

from apibase.core.principal import AuthMethod, Principal
from apibase.domain.identity.roles import RolePolicy

__all__ = ["build_principal"]


def build_principal(
    subject: str, tenant: str, roles: Iterable[str], method: AuthMethod, *, policy: RolePolicy
) -> Principal:
    """Permissions come from today's role policy, never from a token's own list (a role change applies at once)."""
    role_names = frozenset(roles)
    return Principal(
        subject=subject, tenant=tenant, roles=role_names, permissions=policy.permissions_for(role_names), method=method
    )
