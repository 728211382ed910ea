"""Shared test configuration: pytest rewrites asserts in the reusable contract suites too."""

from collections.abc import Iterator

import pytest

from apibase.infrastructure.persistence.tenancy import tenant_scope

pytest.register_assert_rewrite("apibase.testing")


@pytest.fixture
def in_tenant() -> Iterator[str]:
    """Bind the tenant that tenant-scoped repositories read, as the authentication middleware does per request."""
    with tenant_scope("default"):
        yield "default"
