"""The ports the identity handlers need: repositories per unit of work, password hashing and token minting.

Repositories raise typed ``AppError``s (``EmailTakenError``, ``ConcurrencyConflict``); the bus's transaction
behaviour turns them into ``Err``. Every lookup that can cross tenants takes the tenant, so a repository never
returns another tenant's row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import UnauthorizedError
from apibase.core.result import Result
from apibase.domain.identity.api_key import ApiKey, ApiKeyId
from apibase.domain.identity.refresh_session import RefreshSession, RefreshTokenId, SessionFamilyId
from apibase.domain.identity.user import User, UserId

__all__ = [
    "ApiKeyRepository",
    "IdentityStorage",
    "MintedToken",
    "PasswordHashing",
    "RefreshSessionRepository",
    "RefreshTokenClaims",
    "TokenMinting",
    "UserRepository",
]


class UserRepository(Protocol):
    async def get(self, user_id: UserId, *, tenant: str) -> User | None: ...

    async def get_by_email(self, email: str, *, tenant: str) -> User | None:
        """``email`` is already normalised."""
        ...

    async def list_in_tenant(self, tenant: str) -> list[User]: ...

    async def tenant_has_users(self, tenant: str) -> bool: ...

    async def claim_tenant(self, tenant: str, at: datetime) -> bool:
        """Record that ``tenant`` was opened by sign-up; False when it already was (two racing sign-ups)."""
        ...

    async def add(self, user: User) -> None:
        """Raises ``EmailTakenError`` when the tenant already has a user with this email."""
        ...

    async def save(self, user: User) -> None:
        """Version-guarded write: ``ConcurrencyConflict`` when the stored version moved on (bumps the version)."""
        ...


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...

    async def get(self, key_id: ApiKeyId, *, user_id: UserId, tenant: str) -> ApiKey | None:
        """Only the owner's key: another user's id answers None."""
        ...

    async def get_by_prefix(self, prefix: str) -> ApiKey | None: ...

    async def list_for_user(self, user_id: UserId, *, tenant: str) -> list[ApiKey]:
        """Newest first."""
        ...

    async def save(self, key: ApiKey) -> None:
        """Writes the mutable columns (name, expiry, revocation)."""
        ...

    async def record_use(self, key_id: ApiKeyId, at: datetime, *, not_after: datetime) -> None:
        """Set ``last_used_at = at`` only where it is unset or at most ``not_after`` (never moves it back)."""
        ...


class RefreshSessionRepository(Protocol):
    async def add(self, session: RefreshSession) -> None: ...

    async def get(self, jti: RefreshTokenId) -> RefreshSession | None: ...

    async def mark_used(self, session: RefreshSession) -> bool:
        """Store ``session.used_at`` only if the stored row is still unused and unrevoked (compare-and-set).

        False means another request used the token first: the caller treats that as reuse.
        """
        ...

    async def revoke_family(self, family: SessionFamilyId, at: datetime) -> int:
        """Revoke every live session of the family; the count of sessions revoked now."""
        ...


@dataclass(frozen=True, slots=True)
class IdentityStorage:
    """The repositories bound to a unit of work: the one the bus opened for the message being handled."""

    users: Callable[[UnitOfWork], UserRepository]
    api_keys: Callable[[UnitOfWork], ApiKeyRepository]
    sessions: Callable[[UnitOfWork], RefreshSessionRepository]


class PasswordHashing(Protocol):
    """Slow, salted password hashing; async because implementations run the work off the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, stored_hash: str | None) -> Result[None, UnauthorizedError]:
        """``stored_hash`` None (unknown user) must still cost a verification and always answer ``Err``."""
        ...

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters than today's: rehash on the next good login."""
        ...


@dataclass(frozen=True)
class MintedToken:
    token: str = field(repr=False)
    expires_at: int
    """Seconds since the epoch."""


@dataclass(frozen=True)
class RefreshTokenClaims:
    """A verified refresh token's identity: who, in which tenant, which family, which token."""

    subject: str
    tenant: str
    family: str
    token_id: str


class TokenMinting(Protocol):
    def access_token(self, *, subject: str, tenant: str, roles: Iterable[str]) -> MintedToken: ...

    def refresh_token(self, *, subject: str, tenant: str, family: str, token_id: str) -> MintedToken: ...

    def verify_refresh(self, token: str) -> Result[RefreshTokenClaims, UnauthorizedError]:
        """Signature, lifetime, type and the presence of tenant, family and id; rejections keep their codes."""
        ...
