"""API keys: long-lived machine credentials, stored only as a SHA-256 of their secret.

A key's secret is 256 random bits, so a fast hash is enough (there is nothing to brute-force, unlike passwords);
the public ``prefix`` inside the secret finds the row without a table scan or a timing-sensitive lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from pydantic import Field

from apibase.core.principal import TENANT_ID_PATTERN
from apibase.core.types import Branded
from apibase.domain.entities import BaseEntity
from apibase.domain.identity.user import UserId, check_tenant

__all__ = [
    "API_KEY_SCHEME",
    "LAST_USED_RESOLUTION",
    "MAX_API_KEY_NAME_LENGTH",
    "ApiKey",
    "ApiKeyId",
    "hash_secret",
    "prefix_of",
]

API_KEY_SCHEME = "ab"
MAX_API_KEY_NAME_LENGTH = 100
#: ``last_used_at`` is refreshed at most this often, so authenticating a request rarely costs a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_PREFIX_BYTES = 8
_SECRET_BYTES = 32


class ApiKeyId(Branded):
    __slots__ = ()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def prefix_of(secret: str) -> str | None:
    """The prefix of ``ab_<prefix>_<random>``, or None when the text does not have that shape."""
    scheme, _, rest = secret.partition("_")
    prefix, _, random_part = rest.partition("_")
    if scheme != API_KEY_SCHEME or len(prefix) != 2 * _PREFIX_BYTES or not random_part:
        return None
    try:
        bytes.fromhex(prefix)
    except ValueError:
        return None
    return prefix


class ApiKey(BaseEntity[ApiKeyId]):
    """Unversioned on purpose: its changes (revoke, expire, last use) are idempotent single-column writes."""

    user_id: UserId
    tenant: str = Field(pattern=TENANT_ID_PATTERN)
    name: str = Field(min_length=1, max_length=MAX_API_KEY_NAME_LENGTH)
    prefix: str = Field(pattern=r"^[0-9a-f]{16}$")
    secret_hash: str = Field(pattern=r"^[0-9a-f]{64}$", repr=False)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @classmethod
    def issue(
        cls, *, user_id: UserId, tenant: str, name: str, now: datetime, expires_in: timedelta | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret; the secret exists only in this return value and is never stored."""
        if expires_in is not None and expires_in <= timedelta(0):
            raise ValueError("an API key's lifetime must be positive")
        prefix = secrets.token_hex(_PREFIX_BYTES)
        secret = f"{API_KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
        key = cls(
            id=ApiKeyId.new(),
            user_id=user_id,
            tenant=check_tenant(tenant),
            name=name.strip(),
            prefix=prefix,
            secret_hash=hash_secret(secret),
            created_at=now,
            updated_at=now,
            expires_at=None if expires_in is None else now + expires_in,
        )
        return key, secret

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(hash_secret(secret), self.secret_hash)

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def revoke(self, now: datetime) -> None:
        """Idempotent: the first revocation time is kept."""
        if self.revoked_at is None:
            self.revoked_at = now
            self.touch(now)

    def expire_by(self, moment: datetime) -> None:
        """Shorten the lifetime to end at ``moment`` at the latest (a key is never extended this way)."""
        if self.expires_at is None or moment < self.expires_at:
            self.expires_at = moment
            self.touch(moment)

    def use_is_worth_recording(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION
