"""The role policy: the one place where roles map to permissions, and where the set of roles comes from.

People (and signed service calls) are given roles; endpoints check permissions. The superuser role holds every
declared permission, including ones declared after the policy was built; every other role holds exactly the
permissions granted here, so a new feature's permissions are the superuser's alone until the policy grants
them. A role name the policy does not know (a stale token, a typo) grants nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from apibase.domain.identity.permissions import Permission, PermissionRegistry

__all__ = ["ADMIN", "ROLE_NAME_PATTERN", "SERVICE_ROLE", "RolePolicy", "kernel_role_policy", "normalise_roles"]

ROLE_NAME_PATTERN: Final = r"^[a-z][a-z0-9_-]{0,62}$"
_ROLE_NAME = re.compile(ROLE_NAME_PATTERN)
#: The default superuser: the first user of a new tenant gets it.
ADMIN: Final = "admin"
#: The role of a verified signed service-to-service request; a policy usually reserves it (never a person's).
SERVICE_ROLE: Final = "service"


def normalise_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """Well-formed role names, each once, sorted; raises ``ValueError`` naming no offending value."""
    if isinstance(roles, str):
        raise ValueError("roles are a list of role names")  # noqa: TRY004 - pydantic reports ValueError per field
    names = set(roles)
    if not all(isinstance(name, str) and _ROLE_NAME.fullmatch(name) for name in names):
        raise ValueError("a role name is 1-63 lower-case letters, digits, - or _, starting with a letter")
    return tuple(sorted(names))


class RolePolicy:
    """Role → permissions, checked against the registry when built (a granted typo fails at start-up)."""

    def __init__(
        self,
        registry: PermissionRegistry,
        grants: Mapping[str, Iterable[str]],
        *,
        superuser: str = ADMIN,
        default_roles: Iterable[str] = (),
        reserved: Iterable[str] = (),
    ) -> None:
        """``default_roles``: what a new user gets when nobody names roles; ``reserved``: roles the system gives
        (e.g. ``SERVICE_ROLE`` to signed requests) that no user may be assigned."""
        normalise_roles([superuser, *grants])
        if superuser in grants:
            raise ValueError(f"{superuser} is the superuser: it holds every permission, grant it nothing")
        checked: dict[str, frozenset[Permission]] = {}
        for role, permissions in grants.items():
            granted = frozenset(Permission(permission) for permission in permissions)
            if undeclared := registry.undeclared(granted):
                raise ValueError(f"role {role} is granted undeclared permission(s): {', '.join(sorted(undeclared))}")
            checked[role] = granted
        self._registry = registry
        self._superuser = superuser
        self._grants = MappingProxyType(checked)
        self._reserved = frozenset(reserved)
        if unknown := self._reserved - set(self._grants):
            raise ValueError(f"reserved role(s) not in the policy: {', '.join(sorted(unknown))}")
        self._default_roles = self.assignable(default_roles)

    @property
    def registry(self) -> PermissionRegistry:
        return self._registry

    @property
    def superuser(self) -> str:
        return self._superuser

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role, the superuser first, then in the order the grants name them."""
        return (self._superuser, *self._grants)

    @property
    def default_roles(self) -> tuple[str, ...]:
        return self._default_roles

    @property
    def assignable_roles(self) -> tuple[str, ...]:
        """The roles a user may be given: every role but the reserved ones."""
        return tuple(role for role in self.roles if role not in self._reserved)

    def assignable(self, roles: Iterable[str]) -> tuple[str, ...]:
        """``roles`` normalised, if every one may be given to a user; raises ``ValueError`` otherwise."""
        names = normalise_roles(roles)
        known = self.assignable_roles
        if not set(names) <= set(known):
            raise ValueError(f"unknown role(s); known roles are {', '.join(known)}")
        return names

    def grants(self, role: str) -> frozenset[Permission]:
        """The permissions of one role, as of now; an unknown role has none."""
        if role == self._superuser:
            return frozenset(self._registry)
        return self._grants.get(role, frozenset())

    def permissions_for(self, roles: Iterable[str]) -> frozenset[Permission]:
        """The union of the roles' permissions."""
        return frozenset[Permission]().union(*(self.grants(role) for role in set(roles)))


def kernel_role_policy(registry: PermissionRegistry) -> RolePolicy:
    """The policy of a service that sets none: ``admin`` holds everything, a new user is a ``viewer`` granted
    nothing until the service says otherwise, and signed service calls may do nothing."""
    return RolePolicy(registry, {"viewer": [], SERVICE_ROLE: []}, default_roles=["viewer"], reserved=[SERVICE_ROLE])
