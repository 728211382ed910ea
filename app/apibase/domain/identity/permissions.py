"""Permissions as an open registry: each feature declares the ``<resource>:<action>`` permissions it owns.

Authorisation checks permissions, never role names, so a role can change its grants without touching an endpoint.
Which role holds which permission is decided in one place only, the ``RolePolicy`` (``roles.py``); this module
knows nothing about roles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Final, Self

__all__ = [
    "AUDIT_READ",
    "KERNEL_PERMISSIONS",
    "PERMISSION_PATTERN",
    "USERS_MANAGE",
    "Permission",
    "PermissionConflict",
    "PermissionRegistry",
    "read_write",
]

_NAME = r"[a-z][a-z0-9_-]{0,62}"
#: ``<resource>:<action>``, both lower-case slugs: readable in tokens, logs, problem bodies and OpenAPI alike.
PERMISSION_PATTERN: Final = rf"^{_NAME}:{_NAME}$"
_PERMISSION = re.compile(PERMISSION_PATTERN)


class Permission(str):
    """A validated permission name; a ``str``, so principals, tokens and ``require()`` keep working with text."""

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if _PERMISSION.fullmatch(value) is None:
            raise ValueError(f"a permission is '<resource>:<action>' in lower-case letters, digits, - or _: {value!r}")
        return super().__new__(cls, value)

    @classmethod
    def of(cls, resource: str, action: str) -> Self:
        return cls(f"{resource}:{action}")

    @property
    def resource(self) -> str:
        return self.partition(":")[0]

    @property
    def action(self) -> str:
        return self.partition(":")[2]


def read_write(resource: str) -> tuple[Permission, Permission]:
    """The pair a resource is protected by: ``<resource>:read`` for safe methods, ``<resource>:write`` otherwise."""
    return Permission.of(resource, "read"), Permission.of(resource, "write")


class PermissionConflict(ValueError):  # noqa: N818 - reads as the verdict it reports
    """The same permission declared twice with different meanings: two features would claim one name."""


class PermissionRegistry:
    """Every permission the running system knows, with the one-line description shown in docs and listings."""

    def __init__(self) -> None:
        self._declared: dict[Permission, str] = {}

    def declare(self, permission: str, description: str) -> Permission:
        """Idempotent for the same description; a different description for a declared permission is an error."""
        checked = Permission(permission)
        text = description.strip()
        if not text:
            raise ValueError(f"{checked}: a permission needs a description")
        known = self._declared.setdefault(checked, text)
        if known != text:
            raise PermissionConflict(f"{checked} is already declared as {known!r}, not {text!r}")
        return checked

    def declare_all(self, permissions: Mapping[Permission, str]) -> None:
        for permission, description in permissions.items():
            self.declare(permission, description)

    def describe(self) -> Mapping[Permission, str]:
        """Read-only view, in declaration order."""
        return MappingProxyType(self._declared)

    def undeclared(self, permissions: Iterable[str]) -> frozenset[str]:
        """The names in ``permissions`` nobody declared: a typo in a route or a grant, caught before serving."""
        return frozenset(name for name in permissions if name not in self._declared)

    def __contains__(self, permission: object) -> bool:
        return permission in self._declared

    def __iter__(self) -> Iterator[Permission]:
        return iter(tuple(self._declared))

    def __len__(self) -> int:
        return len(self._declared)


USERS_MANAGE: Final = Permission("users:manage")
AUDIT_READ: Final = Permission("audit:read")
#: What the kernel itself owns; feature modules declare theirs next to their own code.
KERNEL_PERMISSIONS: Final[Mapping[Permission, str]] = MappingProxyType(
    {
        USERS_MANAGE: "Add users to the caller's tenant, list them and change their roles",
        AUDIT_READ: "Read the tenant's audit log",
    }
)
