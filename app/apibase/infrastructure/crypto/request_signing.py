"""Service-to-service request signing: HMAC-SHA256 over method, path and query, time, nonce and body digest.

Headers::

    Content-Digest: sha-256=:<base64 SHA-256 of the body>:          (RFC 9530)
    Signature: keyId=<id>,ts=<unix seconds>,nonce=<random>,sig=<base64 HMAC>

The signed string is ``METHOD\\npath?query\\nts\\nnonce\\nkeyId\\nContent-Digest``, so changing any of them,
or the body, breaks the MAC. The verifier refuses timestamps outside ``max_skew_seconds`` and remembers each
``(keyId, nonce)`` for twice that long, so a captured request cannot be sent again. Several keys may be valid
at once: during a rotation the old key keeps verifying until its ``not_after``, while signers move to the new.
The path must be the raw request target as sent (percent-encoding untouched), on both sides.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from apibase.infrastructure.crypto.errors import SignatureExpired, SignatureInvalid, SignatureReplayed

__all__ = [
    "CONTENT_DIGEST_HEADER",
    "SIGNATURE_HEADER",
    "InMemoryReplayCache",
    "ReplayCache",
    "RequestSigner",
    "RequestVerifier",
    "SigningKey",
    "content_digest",
]

SIGNATURE_HEADER = "Signature"
CONTENT_DIGEST_HEADER = "Content-Digest"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class SigningKey:
    """A shared HMAC key; ``not_after`` (unix seconds) ends a retired key's grace period. The secret stays hidden."""

    key_id: str
    secret: bytes = field(repr=False)
    not_after: float | None = None

    def __post_init__(self) -> None:
        if not _TOKEN.fullmatch(self.key_id):
            raise ValueError("a key id is 1-64 characters of letters, digits, '_' and '-'")
        if len(self.secret) < _MIN_SECRET_BYTES:
            raise ValueError(f"an HMAC-SHA256 key needs at least {_MIN_SECRET_BYTES} bytes")


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value for ``body``."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode('ascii')}:"


def _string_to_sign(method: str, target: str, ts: int, nonce: str, key_id: str, digest: str) -> bytes:
    return "\n".join([method.upper(), target, str(ts), nonce, key_id, digest]).encode("utf-8")


def _mac(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


class RequestSigner:
    """Signs outgoing requests with one (the current) key."""

    def __init__(self, key: SigningKey, *, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def __repr__(self) -> str:
        return f"RequestSigner(key_id={self._key.key_id!r})"

    def sign(self, method: str, target: str, body: bytes = b"", *, nonce: str | None = None) -> dict[str, str]:
        """The headers to add: ``Content-Digest`` and ``Signature``. ``target`` is the path with its query."""
        ts = int(self._clock())
        nonce = nonce if nonce is not None else secrets.token_urlsafe(16)
        if not _TOKEN.fullmatch(nonce):
            raise ValueError("a nonce is 1-64 characters of letters, digits, '_' and '-'")
        digest = content_digest(body)
        mac = _mac(self._key.secret, _string_to_sign(method, target, ts, nonce, self._key.key_id, digest))
        signature = f"keyId={self._key.key_id},ts={ts},nonce={nonce},sig={base64.b64encode(mac).decode('ascii')}"
        return {CONTENT_DIGEST_HEADER: digest, SIGNATURE_HEADER: signature}


class ReplayCache(Protocol):
    """Remembers nonces for a while; an in-memory one here, a shared (Redis) one for several replicas later."""

    async def remember(self, key: str, ttl_seconds: float) -> bool:
        """Store ``key`` for ``ttl_seconds``; False when it is already stored (a replay)."""
        ...


class InMemoryReplayCache:
    """A per-process replay cache with expiry; at ``max_entries`` the oldest entries go first.

    Every entry gets the same TTL from the verifier, so insertion order is expiry order and purging is cheap.
    Evicting a live entry under a flood would reopen its replay window, so size ``max_entries`` above the peak
    number of signed requests per replay window.
    """

    def __init__(self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def remember(self, key: str, ttl_seconds: float) -> bool:
        now = self._clock()
        self._purge(now)
        expires_at = self._entries.get(key)
        if expires_at is not None and expires_at > now:
            return False
        while len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = now + ttl_seconds
        return True

    def _purge(self, now: float) -> None:
        expired = []
        for key, expires_at in self._entries.items():
            if expires_at > now:
                break
            expired.append(key)
        for key in expired:
            del self._entries[key]


class RequestVerifier:
    """Checks incoming signed requests; returns the key id that signed, for logs and authorisation."""

    def __init__(
        self,
        keys: Iterable[SigningKey],
        *,
        replay_cache: ReplayCache | None = None,
        max_skew_seconds: float = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = {key.key_id: key for key in keys}
        if not self._keys:
            raise ValueError("a verifier needs at least one key")
        self._replays: ReplayCache = replay_cache if replay_cache is not None else InMemoryReplayCache()
        self._skew = max_skew_seconds
        self._clock = clock

    def __repr__(self) -> str:
        return f"RequestVerifier(key_ids={sorted(self._keys)!r}, max_skew_seconds={self._skew!r})"

    async def verify(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> str:
        """The signing key's id, or a ``SignatureInvalid`` (``SignatureExpired``, ``SignatureReplayed``)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        params = _parse_signature(lowered.get(SIGNATURE_HEADER.lower()))
        key_id, nonce = params["keyId"], params["nonce"]
        key = self._keys.get(key_id)
        now = self._clock()
        if key is None:
            raise SignatureInvalid(f"unknown signing key {key_id!r}")
        if key.not_after is not None and now > key.not_after:
            raise SignatureInvalid(f"signing key {key_id!r} is retired")
        try:
            ts = int(params["ts"])
        except ValueError:
            raise SignatureInvalid("the signature timestamp is not an integer") from None
        if abs(now - ts) > self._skew:
            raise SignatureExpired("the signature timestamp is outside the accepted clock skew")
        digest = lowered.get(CONTENT_DIGEST_HEADER.lower())
        if digest is None or not hmac.compare_digest(digest.encode(), content_digest(body).encode()):
            raise SignatureInvalid("the Content-Digest header is missing or does not match the body")
        try:
            given = base64.b64decode(params["sig"], validate=True)
        except (binascii.Error, ValueError):
            raise SignatureInvalid("the signature is not base64") from None
        expected = _mac(key.secret, _string_to_sign(method, target, ts, nonce, key_id, digest))
        if not hmac.compare_digest(given, expected):
            raise SignatureInvalid("the signature does not match the request")
        # Only a verified request reaches the cache, so unsigned traffic cannot fill it or burn nonces.
        if not await self._replays.remember(f"{key_id}:{nonce}", 2 * self._skew):
            raise SignatureReplayed("this signed request was already received")
        return key_id


def _parse_signature(header: str | None) -> dict[str, str]:
    if header is None:
        raise SignatureInvalid("the Signature header is missing")
    params: dict[str, str] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or name in params:
            raise SignatureInvalid("the Signature header is malformed")
        params[name] = value
    if set(params) != {"keyId", "ts", "nonce", "sig"}:
        raise SignatureInvalid("the Signature header needs exactly keyId, ts, nonce and sig")
    if not _TOKEN.fullmatch(params["keyId"]) or not _TOKEN.fullmatch(params["nonce"]):
        raise SignatureInvalid("the Signature header is malformed")
    return params
