"""Verifying tokens from an external issuer (an IdP) against its published JWKS.

The key set is cached for ``ttl_seconds``. A token naming a ``kid`` we do not know may mean the issuer rotated
its keys, so the set is fetched again, but at most once per ``refresh_cooldown_seconds``: an attacker spraying
random kids gets ``auth.token_unknown_key`` from the cache instead of making us hammer the issuer. Concurrent
callers share one fetch. When a refresh fails, the keys already cached keep working (stale beats down).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx

from apibase.core.errors import UnauthorizedError
from apibase.core.result import Err, Ok, Result
from apibase.infrastructure.security.tokens.claims import Claims
from apibase.infrastructure.security.tokens.errors import AuthErrorCode, JwksUnavailable
from apibase.infrastructure.security.tokens.keys import JwtKey, key_from_jwk
from apibase.infrastructure.security.tokens.verifier import TokenPolicy, check_signed_token, read_header, reject

__all__ = ["RemoteJwks", "RemoteTokenVerifier"]

MAX_JWKS_BYTES = 65_536


class RemoteJwks:
    """A cached view of one issuer's JWKS URL."""

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        ttl_seconds: float = 300.0,
        refresh_cooldown_seconds: float = 30.0,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._client = client
        self._ttl = ttl_seconds
        self._cooldown = refresh_cooldown_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._keys: dict[str, JwtKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch attempt, successful or not
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    def __repr__(self) -> str:
        return f"RemoteJwks(url={self._url!r}, kids={sorted(self._keys)!r})"

    async def key(self, kid: str) -> Result[JwtKey | None, JwksUnavailable]:
        """The key for ``kid`` (None when the issuer does not have it), or Err when no key set can be had."""
        if self._is_stale():
            await self._refresh(self._is_stale)
        if kid not in self._keys and self._fetched_at is not None:
            await self._refresh(lambda: kid not in self._keys and self._cooled_down())
        if self._fetched_at is None:
            return Err(JwksUnavailable("The token issuer's keys could not be fetched."))
        return Ok(self._keys.get(kid))

    async def check(self) -> None:
        """Fetch the key set now, bypassing the cache (readiness); raise when no usable key set comes back."""
        keys = await self._fetch()
        if not keys:
            raise JwksUnavailable("The token issuer's keys could not be fetched.")

    def _is_stale(self) -> bool:
        if self._fetched_at is None:
            return self._cooled_down()
        return self._clock() - self._fetched_at >= self._ttl and self._cooled_down()

    def _cooled_down(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._cooldown

    async def _refresh(self, still_needed: Callable[[], bool]) -> None:
        """Fetch under the lock; ``still_needed`` is re-checked inside so waiters reuse a fetch just made."""
        async with self._lock:
            if not still_needed():
                return
            self._attempted_at = self._clock()
            self.fetch_count += 1
            keys = await self._fetch()
            if keys is not None:
                self._keys = keys
                self._fetched_at = self._clock()

    async def _fetch(self) -> dict[str, JwtKey] | None:
        try:
            response = await self._client.get(self._url, timeout=self._timeout, follow_redirects=False)
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or len(response.content) > MAX_JWKS_BYTES:
            return None
        try:
            document = json.loads(response.content)
        except ValueError:
            return None
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            return None
        keys = [key_from_jwk(entry) for entry in entries if isinstance(entry, dict)]
        return {key.kid: key for key in keys if key is not None}


class RemoteTokenVerifier:
    """Verifies an external issuer's tokens with the same checks as our own, keys from its JWKS."""

    def __init__(self, jwks: RemoteJwks, policy: TokenPolicy, *, clock: Callable[[], float] = time.time) -> None:
        self._jwks = jwks
        self._policy = policy
        self._clock = clock

    async def verify(self, token: str) -> Result[Claims, UnauthorizedError | JwksUnavailable]:
        header = read_header(token, self._policy.max_token_bytes)
        if isinstance(header, Err):
            return header
        found = await self._jwks.key(header.value.kid)
        if isinstance(found, Err):
            return found
        if found.value is None:
            return reject(AuthErrorCode.TOKEN_UNKNOWN_KEY)
        return check_signed_token(token, header.value, found.value, self._policy, self._clock())
