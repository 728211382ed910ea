"""``/.well-known/jwks.json``: the public keys that verify this service's tokens (RFC 7517), for other services.

Retired-but-accepted keys stay listed until they are dropped, so a verifier that cached the set keeps working
across a key rotation; clients may cache the document for five minutes.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from apibase.infrastructure.security.tokens.keys import JwtKeyRing

__all__ = ["JWKS_PATH", "jwks_router"]

JWKS_PATH = "/.well-known/jwks.json"


def jwks_router(ring: Callable[[], JwtKeyRing]) -> APIRouter:
    router = APIRouter(tags=["identity"])

    @router.get(JWKS_PATH, summary="The public keys of this service's tokens", response_class=JSONResponse)
    async def jwks() -> JSONResponse:
        return JSONResponse(
            dict(ring().jwks()), media_type="application/jwk-set+json", headers={"Cache-Control": "public, max-age=300"}
        )

    return router
