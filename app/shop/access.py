"""The reference service's access policy: the permissions its parts declare and the one table of role grants.

The kernel's modules declare their permissions (users, audit); catalog and ordering declare theirs in their
modules; the app builds the registry from every module.
``role_policy`` is the only place a role meets a permission. ``admin`` holds everything, permissions declared
later included, so a new module's permissions are admin-only until they are granted here.
"""

from __future__ import annotations

from apibase.domain.identity.permissions import PermissionRegistry
from apibase.domain.identity.roles import ADMIN, SERVICE_ROLE, RolePolicy
from shop.catalog.domain.permissions import CATALOG_PERMISSIONS, PRODUCTS_READ
from shop.ordering.domain.permissions import ORDERING_PERMISSIONS, ORDERS_READ

__all__ = ["role_policy"]


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
