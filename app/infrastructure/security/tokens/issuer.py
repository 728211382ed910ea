"""Issuing access and refresh tokens signed by the key ring's newest key.

Access tokens are short-lived and carry roles and permissions, so a request is authorised without a database
round trip; refresh tokens live longer, carry no grants and are only accepted where ``typ`` says refresh.
Every token has a random ``jti`` so a later deny list or refresh-token rotation can name it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import JsonValue

from app.infrastructure.security.tokens.claims import TokenType
from app.infrastructure.security.tokens.keys import JwtKeyRing

__all__ = ["IssuedToken", "TokenIssuer"]


@dataclass(frozen=True)
class IssuedToken:
    """A freshly signed token; the token text stays out of the repr (and so out of logs)."""

    token: str = field(repr=False)
    token_id: str
    token_type: TokenType
    expires_at: int
    kid: str


class TokenIssuer:
    """Signs tokens for one issuer and audience with configurable lifetimes."""

    def __init__(
        self,
        ring: JwtKeyRing,
        *,
        issuer: str,
        audience: str,
        access_ttl: timedelta = timedelta(minutes=15),
        refresh_ttl: timedelta = timedelta(days=14),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if access_ttl <= timedelta(0) or refresh_ttl <= timedelta(0):
            raise ValueError("token lifetimes must be positive")
        self._ring = ring
        self._issuer = issuer
        self._audience = audience
        self._ttl = {TokenType.ACCESS: access_ttl, TokenType.REFRESH: refresh_ttl}
        self._clock = clock

    def issue_access(self, subject: str, *, roles: Iterable[str] = (), permissions: Iterable[str] = ()) -> IssuedToken:
        role_list: list[JsonValue] = [*sorted(roles)]
        permission_list: list[JsonValue] = [*sorted(permissions)]
        return self._issue(subject, TokenType.ACCESS, {"roles": role_list, "permissions": permission_list})

    def issue_refresh(self, subject: str) -> IssuedToken:
        return self._issue(subject, TokenType.REFRESH, {})

    def _issue(self, subject: str, token_type: TokenType, grants: dict[str, JsonValue]) -> IssuedToken:
        if not subject:
            raise ValueError("a token needs a subject")
        key = self._ring.signing_key
        now = int(self._clock())
        expires_at = now + int(self._ttl[token_type].total_seconds())
        token_id = secrets.token_urlsafe(16)
        payload: dict[str, JsonValue] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": expires_at,
            "jti": token_id,
            "typ": token_type.value,
            **grants,
        }
        token = key.sign(payload, {"typ": "JWT"})
        return IssuedToken(token=token, token_id=token_id, token_type=token_type, expires_at=expires_at, kid=key.kid)
