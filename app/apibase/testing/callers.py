"""Callers a test makes up: opaque bearer tokens for principals of any tenant, holding exactly the permissions given.

The service's own tokens carry roles, and roles grant what the role table says. A test of a new resource needs a
caller holding ``suppliers:read`` and not ``suppliers:write``, in tenant ``acme`` or ``globex``. ``CallerTokens``
is the ``access_token`` (and ``api_key``) authenticator to give the real ``AuthenticationMiddleware``, so the test
runs the service's own authentication, tenant binding and permission checks, with principals it chose::

    callers = CallerTokens()
    app.add_middleware(AuthenticationMiddleware, access_token=callers, api_key=callers)
    headers = callers.headers(tenant="acme", permissions={"suppliers:read"})
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from enum import StrEnum

from apibase.core.errors import AppError
from apibase.core.principal import AuthMethod, Principal
from apibase.core.result import Err, Ok, Result
from apibase.infrastructure.security.tokens.errors import InvalidToken

__all__ = ["CallerTokens"]


class CallerTokens:
    """Tokens minted by ``headers``; any other token is refused like a forged one (401)."""

    def __init__(self) -> None:
        self._principals: dict[str, Principal] = {}

    def headers(self, *, tenant: str, permissions: Iterable[str] = (), subject: str | None = None) -> dict[str, str]:
        """The ``Authorization`` header of a new caller of ``tenant`` holding ``permissions`` (and no role)."""
        token = secrets.token_urlsafe(24)
        self._principals[token] = Principal(
            subject=subject or f"user-{secrets.token_hex(4)}",
            tenant=tenant,
            roles=frozenset(),
            permissions=frozenset(permissions),
            method=AuthMethod.ACCESS_TOKEN,
        )
        return {"Authorization": f"Bearer {token}"}

    async def __call__(self, token: str) -> Result[Principal, AppError[StrEnum]]:
        known = self._principals.get(token)
        if known is None:
            return Err(InvalidToken("this token was not minted by the test"))
        return Ok(known)
