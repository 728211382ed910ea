"""Access tokens into principals: ours (verified with the local key ring) and, optionally, an external issuer's.

A token whose ``kid`` our ring does not hold goes to the external issuer's cached JWKS, if one is configured;
every other local verdict (expired, tampered, wrong audience, ...) is final, so a forged token never gets a
second chance against another key set. Tokens of either issuer must carry a tenant (``tid``) to name a caller.

Verified tokens are remembered (bounded, for at most ``cache_seconds`` and never past their ``exp``): a client
sends the same token with every request, and a signature check plus claim parsing costs far more than the
request's own work. Only successes are cached; a rejected token is checked again each time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from enum import StrEnum

from apibase.core.errors import AppError
from apibase.core.principal import Principal
from apibase.core.result import Err, Ok, Result
from apibase.domain.identity.roles import RolePolicy
from apibase.infrastructure.security.identity_adapters import principal_from_claims
from apibase.infrastructure.security.tokens.claims import Claims
from apibase.infrastructure.security.tokens.errors import AuthErrorCode
from apibase.infrastructure.security.tokens.remote_jwks import RemoteTokenVerifier
from apibase.infrastructure.security.tokens.verifier import TokenVerifier

__all__ = ["AccessTokenAuthenticator"]


class AccessTokenAuthenticator:
    def __init__(
        self,
        local: TokenVerifier,
        external: RemoteTokenVerifier | None = None,
        *,
        roles: RolePolicy,
        cache_seconds: float = 60.0,
        max_cached: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._local = local
        self._external = external
        self._roles = roles
        self._cache_seconds = cache_seconds
        self._max_cached = max_cached
        self._clock = clock
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    async def __call__(self, token: str) -> Result[Principal, AppError[StrEnum]]:
        now = self._clock()
        cached = self._verified.get(token)
        if cached is not None and cached[0] > now:
            return Ok(cached[1])
        verified = await self._verify(token)
        if isinstance(verified, Err):
            return verified
        principal = principal_from_claims(verified.value, self._roles)
        if isinstance(principal, Ok):
            self._remember(token, min(float(verified.value.expires_at), now + self._cache_seconds), principal.value)
        return principal

    async def _verify(self, token: str) -> Result[Claims, AppError[StrEnum]]:
        verified = self._local.verify(token)
        if isinstance(verified, Err):
            unknown_key = verified.error.code is AuthErrorCode.TOKEN_UNKNOWN_KEY
            if not unknown_key or self._external is None:
                return verified
            return await self._external.verify(token)
        return verified

    def _remember(self, token: str, until: float, principal: Principal) -> None:
        self._verified[token] = (until, principal)
        if len(self._verified) > self._max_cached:
            self._verified.popitem(last=False)  # the oldest entry; expired ones go first in practice
