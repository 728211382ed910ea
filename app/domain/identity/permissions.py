"""Permissions and the roles that bundle them: authorisation checks permissions, people are given roles.

Checking permissions (never role names) lets a role change its grants without touching a single endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = ["ROLE_PERMISSIONS", "Permission", "Role", "permissions_for"]


class Permission(StrEnum):
    PRODUCTS_READ = "products:read"
    PRODUCTS_WRITE = "products:write"
    PRODUCTS_DELETE = "products:delete"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    USERS_MANAGE = "users:manage"
    AUDIT_READ = "audit:read"
    REPORTS_READ = "reports:read"


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


_PRODUCTS = frozenset({Permission.PRODUCTS_READ, Permission.PRODUCTS_WRITE, Permission.PRODUCTS_DELETE})
_ORDERS = frozenset({Permission.ORDERS_READ, Permission.ORDERS_WRITE})

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ADMIN: frozenset(Permission),
        Role.EDITOR: _PRODUCTS | _ORDERS | {Permission.REPORTS_READ},
        Role.VIEWER: frozenset({Permission.PRODUCTS_READ, Permission.ORDERS_READ}),
    }
)


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    """The union of the roles' permissions; an unknown role name (a stale token, a typo) grants nothing."""
    granted: set[str] = set()
    for name in roles:
        if name in Role._value2member_map_:
            granted.update(permission.value for permission in ROLE_PERMISSIONS[Role(name)])
    return frozenset(granted)
