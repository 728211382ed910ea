"""Internal (service-to-service) endpoints, reached only through ``RequestSigningMiddleware``.

``GET /internal/v1/whoami`` echoes the verified calling service and its tenant, which proves the signed principal
reaches handlers. It trusts only a principal the signing middleware put in ``scope["state"]``; anything else
(no principal, a token-authenticated user) is a 401, so a wiring mistake that skips the middleware fails closed.

Public API: ``internal_router() -> APIRouter``, ``ServiceIdentity``, ``signed_principal(request) -> Principal``.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from apibase.core.errors import UnauthorizedError
from apibase.core.principal import AuthMethod, Principal

__all__ = ["ServiceIdentity", "internal_router", "signed_principal"]


class ServiceIdentity(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    tenant: str


async def signed_principal(request: Request) -> Principal:
    """Dependency: the principal of a verified signed request, or a 401; internal endpoints accept no other caller."""
    state = request.scope.get("state")
    caller = state.get("principal") if isinstance(state, dict) else None
    if not isinstance(caller, Principal) or caller.method is not AuthMethod.SIGNED_REQUEST:
        raise UnauthorizedError("this endpoint accepts signed service requests only")
    return caller


def internal_router() -> APIRouter:
    router = APIRouter(prefix="/internal/v1", tags=["internal"])

    @router.get("/whoami")
    async def whoami(caller: Annotated[Principal, Depends(signed_principal)]) -> ServiceIdentity:
        return ServiceIdentity(service=caller.subject, tenant=caller.tenant)

    return router
