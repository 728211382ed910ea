"""Per-request context that code in every layer may read without importing a web framework.

The HTTP edge sets these values (request id, correlation id, the authenticated principal and its tenant); logging,
error rendering, repositories, outgoing calls and the audit trail read them, so nobody passes them through every call.
"""

from __future__ import annotations

from contextvars import ContextVar

from apibase.core.principal import Principal

__all__ = [
    "correlation_id",
    "current_correlation_id",
    "current_principal",
    "current_request_id",
    "current_tenant",
    "principal",
    "request_id",
    "tenant",
]

request_id: ContextVar[str | None] = ContextVar("apibase_request_id", default=None)
correlation_id: ContextVar[str | None] = ContextVar("apibase_correlation_id", default=None)
principal: ContextVar[Principal | None] = ContextVar("apibase_principal", default=None)
tenant: ContextVar[str | None] = ContextVar("apibase_tenant", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, or ``None`` outside a request."""
    return request_id.get()


def current_correlation_id() -> str | None:
    """The id of the whole business flow this request belongs to (spans services and retries), or ``None``."""
    return correlation_id.get()


def current_principal() -> Principal | None:
    """Who is calling, once authentication has run; ``None`` for anonymous calls and outside requests."""
    return principal.get()


def current_tenant() -> str | None:
    """The tenant the current request acts for; tenant-scoped repositories refuse to work without one."""
    return tenant.get()
