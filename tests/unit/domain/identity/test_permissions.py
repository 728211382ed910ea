"""Roles bundle exactly the permissions the role table promises; unknown role names grant nothing."""

from __future__ import annotations

import pytest

from app.domain.identity import ROLE_PERMISSIONS, Permission, Role, permissions_for

pytestmark = pytest.mark.unit


def test_the_permission_and_role_values_are_public_api() -> None:
    assert [p.value for p in Permission] == [
        "products:read",
        "products:write",
        "products:delete",
        "orders:read",
        "orders:write",
        "users:manage",
        "audit:read",
        "reports:read",
    ]
    assert [r.value for r in Role] == ["admin", "editor", "viewer"]


def test_each_role_has_its_permissions() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)
    assert permissions_for(["editor"]) == {
        "products:read",
        "products:write",
        "products:delete",
        "orders:read",
        "orders:write",
        "reports:read",
    }
    assert permissions_for(["viewer"]) == {"products:read", "orders:read"}


def test_roles_add_up_and_unknown_roles_grant_nothing() -> None:
    assert permissions_for(["viewer", "root", "ADMIN", ""]) == {"products:read", "orders:read"}
    assert permissions_for([]) == frozenset()
    assert permissions_for(["viewer", "admin"]) == {p.value for p in Permission}


def test_the_role_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        ROLE_PERMISSIONS[Role.VIEWER] = frozenset(Permission)  # type: ignore[index]
