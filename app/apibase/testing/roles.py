"""A role policy for tests of parts that need one: the kernel's permissions plus the test kit's widgets.

Shaped like a typical service's: ``admin`` holds everything, ``editor`` reads and writes widgets, ``viewer`` reads
them (and is what a new user gets), and signed service calls (``service``, no user's) read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from apibase.domain.identity.permissions import KERNEL_PERMISSIONS, Permission, PermissionRegistry, read_write
from apibase.domain.identity.roles import SERVICE_ROLE, RolePolicy

__all__ = ["WIDGETS_READ", "WIDGETS_WRITE", "WIDGET_PERMISSIONS", "widget_role_policy"]

WIDGETS_READ, WIDGETS_WRITE = read_write("widgets")
WIDGET_PERMISSIONS: Final[Mapping[Permission, str]] = MappingProxyType(
    {WIDGETS_READ: "List and read widgets", WIDGETS_WRITE: "Create, change and delete widgets"}
)


def widget_role_policy() -> RolePolicy:
    """A fresh registry and policy each call, so a test that declares more changes no other test's."""
    registry = PermissionRegistry()
    registry.declare_all(KERNEL_PERMISSIONS)
    registry.declare_all(WIDGET_PERMISSIONS)
    return RolePolicy(
        registry,
        {"editor": [WIDGETS_READ, WIDGETS_WRITE], "viewer": [WIDGETS_READ], SERVICE_ROLE: [WIDGETS_READ]},
        default_roles=["viewer"],
        reserved=[SERVICE_ROLE],
    )
