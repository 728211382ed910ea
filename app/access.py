"""The reference service's access policy: the permissions its parts declare and the one table of role grants.

The kernel declares its own permissions (users, audit); catalog and ordering declare theirs next to their code.
``role_policy`` is the only place a role meets a permission. ``admin`` holds everything, permissions declared
later included, so a new module's permissions are admin-only until they are granted here.
"""

from __future__ import annotations

from app.domain.catalog.permissions import CATALOG_PERMISSIONS, PRODUCTS_READ
from app.domain.identity.permissions import KERNEL_PERMISSIONS, PermissionRegistry
from app.domain.identity.roles import ADMIN, SERVICE_ROLE, RolePolicy
from app.domain.ordering.permissions import ORDERING_PERMISSIONS, ORDERS_READ

__all__ = ["permission_registry", "role_policy"]


def permission_registry() -> PermissionRegistry:
    registry = PermissionRegistry()
    for declared in (KERNEL_PERMISSIONS, CATALOG_PERMISSIONS, ORDERING_PERMISSIONS):
        registry.declare_all(declared)
    return registry


def role_policy(registry: PermissionRegistry) -> RolePolicy:
    """``editor`` runs the shop, ``viewer`` reads it; signed service calls (``service``) read and are no user's."""
    return RolePolicy(
        registry,
        {
            "editor": [*CATALOG_PERMISSIONS, *ORDERING_PERMISSIONS],
            "viewer": [PRODUCTS_READ, ORDERS_READ],
            SERVICE_ROLE: [PRODUCTS_READ, ORDERS_READ],
        },
        superuser=ADMIN,
        default_roles=["viewer"],
        reserved=[SERVICE_ROLE],
    )
