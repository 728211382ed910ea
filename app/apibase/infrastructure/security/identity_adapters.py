"""Adapters of the identity handlers' ``PasswordHashing`` and ``TokenMinting`` ports, and access-token principals.

Argon2 work runs in a worker thread (``asyncio.to_thread``): one hash is tens of milliseconds of CPU, which would
stall every other request on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from argon2 import PasswordHasher as _Argon2Parameters
from argon2.exceptions import InvalidHashError

from apibase.application.identity.ports import MintedToken, RefreshTokenClaims
from apibase.application.identity.principals import build_principal
from apibase.core.errors import UnauthorizedError
from apibase.core.principal import AuthMethod, Principal
from apibase.core.result import Err, Ok, Result
from apibase.domain.identity.roles import RolePolicy
from apibase.infrastructure.security.passwords import PasswordHasher
from apibase.infrastructure.security.tokens.claims import Claims, TokenType
from apibase.infrastructure.security.tokens.errors import AuthErrorCode
from apibase.infrastructure.security.tokens.issuer import TokenIssuer
from apibase.infrastructure.security.tokens.verifier import TokenVerifier, reject

__all__ = ["Argon2PasswordHashing", "JwtTokenMinting", "principal_from_claims"]


class Argon2PasswordHashing:
    """``PasswordHashing`` over :class:`PasswordHasher`, built here so both share one set of Argon2 parameters."""

    def __init__(self, *, time_cost: int = 3, memory_cost: int = 65_536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        self._parameters = _Argon2Parameters(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)

    def __repr__(self) -> str:
        return f"Argon2PasswordHashing({self._hasher!r})"

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password: str, stored_hash: str | None) -> Result[None, UnauthorizedError]:
        verified = await asyncio.to_thread(self._hasher.verify, password, stored_hash)
        return verified if isinstance(verified, Err) else Ok(None)

    def needs_rehash(self, stored_hash: str) -> bool:
        """Cheap (parses the hash's parameters); an unreadable hash needs replacing too."""
        try:
            return self._parameters.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


class JwtTokenMinting:
    """``TokenMinting`` over our own issuer and verifier; refresh tokens must carry tenant, family and id."""

    def __init__(self, issuer: TokenIssuer, verifier: TokenVerifier) -> None:
        self._issuer = issuer
        self._verifier = verifier

    def access_token(self, *, subject: str, tenant: str, roles: Iterable[str]) -> MintedToken:
        # Roles only: permissions are expanded when the token is verified, which keeps tokens small (cheaper to
        # verify on every request) and lets a role's grants change without waiting for tokens to expire.
        issued = self._issuer.issue_access(subject, roles=list(roles), tenant=tenant)
        return MintedToken(token=issued.token, expires_at=issued.expires_at)

    def refresh_token(self, *, subject: str, tenant: str, family: str, token_id: str) -> MintedToken:
        issued = self._issuer.issue_refresh(subject, tenant=tenant, family=family, token_id=token_id)
        return MintedToken(token=issued.token, expires_at=issued.expires_at)

    def verify_refresh(self, token: str) -> Result[RefreshTokenClaims, UnauthorizedError]:
        verified = self._verifier.verify(token, expected_type=TokenType.REFRESH)
        if isinstance(verified, Err):
            return verified
        claims = verified.value
        if claims.tenant is None or claims.family is None or claims.token_id is None:
            return reject(AuthErrorCode.TOKEN_MALFORMED)
        return Ok(
            RefreshTokenClaims(
                subject=claims.subject, tenant=claims.tenant, family=claims.family, token_id=claims.token_id
            )
        )


def principal_from_claims(claims: Claims, policy: RolePolicy) -> Result[Principal, UnauthorizedError]:
    """The caller behind a verified access token; a token without a tenant (``tid``) names nobody here."""
    if claims.tenant is None:
        return reject(AuthErrorCode.TOKEN_MALFORMED)
    return Ok(build_principal(claims.subject, claims.tenant, claims.roles, AuthMethod.ACCESS_TOKEN, policy=policy))
