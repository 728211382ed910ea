"""Permissions are validated ``<resource>:<action>`` names that features declare in an open registry."""

from __future__ import annotations

import pytest

from apibase.domain.identity import (
    AUDIT_READ,
    KERNEL_PERMISSIONS,
    USERS_MANAGE,
    Permission,
    PermissionConflict,
    PermissionRegistry,
    read_write,
)

pytestmark = pytest.mark.unit


def test_a_permission_is_a_resource_and_an_action() -> None:
    read = Permission.of("suppliers", "read")
    assert read == "suppliers:read"
    assert isinstance(read, str)
    assert (read.resource, read.action) == ("suppliers", "read")
    assert read_write("suppliers") == ("suppliers:read", "suppliers:write")
    assert Permission("order-lines:re_open") == "order-lines:re_open"


@pytest.mark.parametrize(
    "name", ["", "suppliers", "Suppliers:read", "suppliers:Read", "suppliers:", ":read", "a:b:c", "1x:read", "x :y"]
)
def test_malformed_permissions_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="resource"):
        Permission(name)


def test_the_kernel_declares_only_its_own_permissions() -> None:
    assert dict(KERNEL_PERMISSIONS).keys() == {"users:manage", "audit:read"}
    assert (USERS_MANAGE, AUDIT_READ) == ("users:manage", "audit:read")
    assert all(description for description in KERNEL_PERMISSIONS.values())


def test_features_declare_their_permissions_with_a_description() -> None:
    registry = PermissionRegistry()
    registry.declare_all(KERNEL_PERMISSIONS)
    declared = registry.declare("suppliers:read", "  Read suppliers ")

    assert isinstance(declared, Permission)
    assert list(registry) == ["users:manage", "audit:read", "suppliers:read"]
    assert len(registry) == 3
    assert "suppliers:read" in registry
    assert "suppliers:write" not in registry
    assert registry.describe()["suppliers:read"] == "Read suppliers"
    assert registry.undeclared(["suppliers:read", "suppliers:write", "users:manage"]) == {"suppliers:write"}


def test_declaring_again_is_harmless_but_a_second_meaning_is_an_error() -> None:
    registry = PermissionRegistry()
    registry.declare("suppliers:read", "Read suppliers")
    registry.declare("suppliers:read", "Read suppliers")
    with pytest.raises(PermissionConflict, match="already declared"):
        registry.declare("suppliers:read", "Read and export suppliers")
    assert registry.describe() == {"suppliers:read": "Read suppliers"}


def test_a_declaration_needs_a_valid_name_and_a_description() -> None:
    registry = PermissionRegistry()
    with pytest.raises(ValueError, match="description"):
        registry.declare("suppliers:read", " ")
    with pytest.raises(ValueError, match="resource"):
        registry.declare("SUPPLIERS_READ", "Read suppliers")
    assert len(registry) == 0


def test_the_declarations_are_read_only() -> None:
    registry = PermissionRegistry()
    with pytest.raises(TypeError):
        registry.describe()[Permission("x:y")] = "sneaked in"  # type: ignore[index]
    with pytest.raises(TypeError):
        KERNEL_PERMISSIONS[Permission("x:y")] = "sneaked in"  # type: ignore[index]
