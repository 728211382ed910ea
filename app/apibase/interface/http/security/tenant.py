"""The tenant of an anonymous call (sign-up, login), declared as the header parameter it comes from.

The authentication middleware resolves the tenant from the header (or the default tenant) before any route
runs; this dependency only hands that tenant to the route and makes the header visible in the OpenAPI document,
with the pattern the middleware enforces.
"""

# No ``from __future__ import annotations``: FastAPI reads the annotation built inside the factory.
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Header, Request

from apibase.core.principal import TENANT_ID_PATTERN

__all__ = ["DEFAULT_TENANT_HEADER", "requested_tenant"]

DEFAULT_TENANT_HEADER = "X-Tenant-ID"


def requested_tenant(header: str = DEFAULT_TENANT_HEADER) -> Callable[..., Awaitable[str]]:
    """A dependency giving the tenant the middleware resolved; ``header`` is the configured tenant header."""
    Requested = Annotated[  # noqa: N806
        str | None,
        Header(
            alias=header,
            pattern=TENANT_ID_PATTERN,
            description="The tenant to act in (a lower-case slug); without it, the service's default tenant",
        ),
    ]

    async def tenant(request: Request, requested: Requested = None) -> str:
        return str(request.state.tenant)

    return tenant
