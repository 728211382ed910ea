"""The role policy is the one place roles meet permissions; unknown roles grant nothing, admin grants everything."""

from __future__ import annotations

import pytest

from apibase.domain.identity import KERNEL_PERMISSIONS, SERVICE_ROLE, PermissionRegistry, RolePolicy, normalise_roles

pytestmark = pytest.mark.unit


def registry() -> PermissionRegistry:
    declared = PermissionRegistry()
    declared.declare_all(KERNEL_PERMISSIONS)
    declared.declare("suppliers:read", "Read suppliers")
    declared.declare("suppliers:write", "Change suppliers")
    return declared


def policy(declared: PermissionRegistry | None = None) -> RolePolicy:
    return RolePolicy(
        declared or registry(),
        {
            "editor": ["suppliers:read", "suppliers:write"],
            "viewer": ["suppliers:read"],
            SERVICE_ROLE: ["suppliers:read"],
        },
        default_roles=["viewer"],
        reserved=[SERVICE_ROLE],
    )


def test_roles_come_from_the_policy() -> None:
    roles = policy()
    assert roles.roles == ("admin", "editor", "viewer", "service")
    assert roles.superuser == "admin"
    assert roles.default_roles == ("viewer",)


def test_each_role_has_what_the_policy_grants() -> None:
    roles = policy()
    assert roles.permissions_for(["viewer"]) == {"suppliers:read"}
    assert roles.permissions_for(["editor"]) == {"suppliers:read", "suppliers:write"}
    assert roles.permissions_for([SERVICE_ROLE]) == {"suppliers:read"}
    assert roles.permissions_for(["admin"]) == {"users:manage", "audit:read", "suppliers:read", "suppliers:write"}


def test_roles_add_up_and_unknown_roles_grant_nothing() -> None:
    roles = policy()
    assert roles.permissions_for(["viewer", "root", "ADMIN", "", "admin "]) == {"suppliers:read"}
    assert roles.permissions_for([]) == frozenset()
    assert roles.grants("root") == frozenset()


def test_the_superuser_gets_permissions_declared_later_and_nobody_else_does() -> None:
    declared = registry()
    roles = policy(declared)
    declared.declare("invoices:read", "Read invoices")

    assert "invoices:read" in roles.permissions_for(["admin"])
    assert "invoices:read" not in roles.permissions_for(["editor", "viewer", SERVICE_ROLE])


def test_a_grant_of_an_undeclared_permission_fails_when_the_policy_is_built() -> None:
    with pytest.raises(ValueError, match=r"undeclared permission.*suppliers:delete"):
        RolePolicy(registry(), {"editor": ["suppliers:read", "suppliers:delete"]})
    with pytest.raises(ValueError, match="resource"):
        RolePolicy(registry(), {"editor": ["SUPPLIERS_READ"]})


@pytest.mark.parametrize(
    ("grants", "options", "message"),
    [
        ({"admin": ["suppliers:read"]}, {}, "superuser"),
        ({"Editor": []}, {}, "role name"),
        ({"viewer": []}, {"superuser": "root user"}, "role name"),
        ({"viewer": []}, {"reserved": ["service"]}, "reserved role"),
        ({"viewer": []}, {"default_roles": ["editor"]}, "unknown role"),
        ({"viewer": [], "service": []}, {"reserved": ["service"], "default_roles": ["service"]}, "unknown role"),
    ],
)
def test_inconsistent_policies_are_refused(grants: dict[str, list[str]], options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RolePolicy(registry(), grants, **options)


def test_only_known_unreserved_roles_may_be_assigned() -> None:
    roles = policy()
    assert roles.assignable(["viewer", "admin", "viewer"]) == ("admin", "viewer")
    assert roles.assignable([]) == ()
    for refused in (["root"], [SERVICE_ROLE], ["viewer", "ghost"]):
        with pytest.raises(ValueError, match=r"unknown role.*known roles are admin, editor, viewer$"):
            roles.assignable(refused)


def test_role_names_are_normalised_without_echoing_bad_ones() -> None:
    assert normalise_roles(["viewer", "admin", "viewer"]) == ("admin", "viewer")
    for bad in (["Admin"], ["admin "], ["*"], [""], "admin"):
        with pytest.raises(ValueError, match="role") as caught:
            normalise_roles(bad)
        assert "dmin" not in str(caught.value)
