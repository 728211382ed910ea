"""Tenant isolation at the repository: the tenant comes from the request context, never from a caller's argument.

A tenant-scoped repository used where no tenant is bound (a forgotten ``tenant_scope`` in a job, a route without
authentication) fails closed with ``TenantRequired`` instead of reading or writing across tenants.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import ClassVar

from apibase.core.context import current_tenant, tenant
from apibase.core.error_codes import error_codes
from apibase.core.errors import BadRequestError, ForbiddenError, InternalError
from apibase.core.principal import is_valid_tenant_id

__all__ = [
    "InvalidTenant",
    "TenancyErrorCode",
    "TenantMismatch",
    "TenantRequired",
    "required_tenant",
    "tenant_scope",
]


@error_codes("tenancy")
class TenancyErrorCode(StrEnum):
    TENANT_REQUIRED = "tenancy.tenant_required"
    INVALID_TENANT = "tenancy.invalid_tenant"
    TENANT_MISMATCH = "tenancy.tenant_mismatch"


class TenantRequired(InternalError):  # noqa: N818 - reads as the condition it reports
    """A tenant-scoped repository ran outside any tenant: a wiring bug, answered as a 500 and logged."""

    default_code: ClassVar[StrEnum] = TenancyErrorCode.TENANT_REQUIRED


class InvalidTenant(BadRequestError):  # noqa: N818 - reads as the verdict it reports
    """The tenant header is not a tenant id (a slug); refused before anything looks it up."""

    default_code: ClassVar[StrEnum] = TenancyErrorCode.INVALID_TENANT


class TenantMismatch(ForbiddenError):  # noqa: N818 - reads as the verdict it reports
    """The tenant header names another tenant than the caller's credentials: a token never crosses tenants."""

    default_code: ClassVar[StrEnum] = TenancyErrorCode.TENANT_MISMATCH


def required_tenant() -> str:
    bound = current_tenant()
    if bound is None:
        raise TenantRequired("no tenant is bound to this call; tenant-scoped data cannot be reached without one")
    return bound


@contextmanager
def tenant_scope(tenant_id: str) -> Iterator[None]:
    """Bind a tenant for code outside a request (CLI commands, jobs, tests)."""
    if not is_valid_tenant_id(tenant_id):
        raise ValueError(f"{tenant_id!r} is not a valid tenant id")
    token = tenant.set(tenant_id)
    try:
        yield
    finally:
        tenant.reset(token)
