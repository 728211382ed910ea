"""Binding a tenant outside a request: ``tenant_scope`` binds and restores, and refuses what is not a tenant id."""

from __future__ import annotations

import pytest

from apibase.infrastructure.persistence.tenancy import TenantRequired, required_tenant, tenant_scope

pytestmark = pytest.mark.unit


def test_tenant_scope_binds_and_restores() -> None:
    with pytest.raises(TenantRequired):
        required_tenant()
    with tenant_scope("acme"):
        assert required_tenant() == "acme"
        with tenant_scope("globex"):
            assert required_tenant() == "globex"
        assert required_tenant() == "acme"
    with pytest.raises(TenantRequired):
        required_tenant()


@pytest.mark.parametrize("bad", ["", "Acme", "a b", "-x", "x" * 64, "../etc"])
def test_tenant_scope_refuses_malformed_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="tenant id"), tenant_scope(bad):
        pass
