"""Access tokens into principals: ours (verified with the local key ring) and, optionally, an external issuer's.

A token whose ``kid`` our ring does not hold goes to the external issuer's cached JWKS, if one is configured;
every other local verdict (expired, tampered, wrong audience, ...) is final, so a forged token never gets a
second chance against another key set. Tokens of either issuer must carry a tenant (``tid``) to name a caller.
"""

from __future__ import annotations

from enum import StrEnum

from app.core.errors import AppError
from app.core.principal import Principal
from app.core.result import Err, Result
from app.infrastructure.security.identity_adapters import principal_from_claims
from app.infrastructure.security.tokens.errors import AuthErrorCode
from app.infrastructure.security.tokens.remote_jwks import RemoteTokenVerifier
from app.infrastructure.security.tokens.verifier import TokenVerifier

__all__ = ["AccessTokenAuthenticator"]


class AccessTokenAuthenticator:
    def __init__(self, local: TokenVerifier, external: RemoteTokenVerifier | None = None) -> None:
        self._local = local
        self._external = external

    async def __call__(self, token: str) -> Result[Principal, AppError[StrEnum]]:
        verified = self._local.verify(token)
        if isinstance(verified, Err):
            unknown_key = verified.error.code is AuthErrorCode.TOKEN_UNKNOWN_KEY
            if not unknown_key or self._external is None:
                return verified
            external = await self._external.verify(token)
            if isinstance(external, Err):
                return external
            return principal_from_claims(external.value)
        return principal_from_claims(verified.value)
