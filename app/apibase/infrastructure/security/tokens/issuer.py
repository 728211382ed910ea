"""Issuing access and refresh tokens signed by the key ring's newest key.

Access tokens are short-lived and carry roles and permissions, so a request is authorised without a database
round trip; refresh tokens live longer, carry no grants and are only accepted where ``typ`` says refresh.
Every token has a ``jti`` so a deny list or refresh-token rotation can name it (random unless the caller
chooses it, as refresh rotation does to key its stored session); ``tid`` names the tenant, ``fam`` the
refresh-token family.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import JsonValue

from apibase.infrastructure.security.tokens.claims import TokenType
from apibase.infrastructure.security.tokens.keys import JwtKeyRing

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

    def issue_access(
        self,
        subject: str,
        *,
        roles: Iterable[str] = (),
        permissions: Iterable[str] = (),
        tenant: str | None = None,
    ) -> IssuedToken:
        role_list: list[JsonValue] = [*sorted(roles)]
        permission_list: list[JsonValue] = [*sorted(permissions)]
        grants: dict[str, JsonValue] = {"roles": role_list, "permissions": permission_list}
        return self._issue(subject, TokenType.ACCESS, _with(grants, tid=tenant))

    def issue_refresh(
        self, subject: str, *, tenant: str | None = None, family: str | None = None, token_id: str | None = None
    ) -> IssuedToken:
        return self._issue(subject, TokenType.REFRESH, _with({}, tid=tenant, fam=family), token_id=token_id)

    def _issue(
        self, subject: str, token_type: TokenType, grants: dict[str, JsonValue], *, token_id: str | None = None
    ) -> IssuedToken:
        if not subject:
            raise ValueError("a token needs a subject")
        if token_id is not None and not token_id:
            raise ValueError("a chosen token id must not be empty")
        key = self._ring.signing_key
        now = int(self._clock())
        expires_at = now + int(self._ttl[token_type].total_seconds())
        token_id = token_id or secrets.token_urlsafe(16)
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


def _with(claims: dict[str, JsonValue], **optional: str | None) -> dict[str, JsonValue]:
    """``claims`` plus the optional string claims that are set (an empty string is a caller's bug)."""
    for name, value in optional.items():
        if value is not None:
            if not value:
                raise ValueError(f"the {name} claim must not be empty")
            claims[name] = value
    return claims
