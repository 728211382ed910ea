"""Refresh sessions: each refresh token is usable once, and a second use betrays a stolen token.

Tokens of one login form a family. Rotation marks the presented token used and issues its successor in the same
family; when a used token comes back, either the client or a thief holds a copy, and the whole family is revoked
(OAuth 2.0 Security BCP, refresh token rotation).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from apibase.core.principal import TENANT_ID_PATTERN
from apibase.core.types import Branded
from apibase.domain.entities import BaseEntity
from apibase.domain.identity.user import UserId

__all__ = ["RefreshSession", "RefreshTokenId", "RefreshVerdict", "SessionFamilyId"]


class RefreshTokenId(Branded):
    """The refresh token's ``jti``."""

    __slots__ = ()


class SessionFamilyId(Branded):
    """Shared by every token rotated from one login."""

    __slots__ = ()


class RefreshVerdict(StrEnum):
    USABLE = "usable"
    REUSED = "reused"
    REVOKED = "revoked"
    EXPIRED = "expired"


class RefreshSession(BaseEntity[RefreshTokenId]):
    family: SessionFamilyId
    user_id: UserId
    tenant: str = Field(pattern=TENANT_ID_PATTERN)
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def jti(self) -> RefreshTokenId:
        return self.id

    @classmethod
    def start(
        cls,
        *,
        user_id: UserId,
        tenant: str,
        now: datetime,
        expires_at: datetime,
        jti: RefreshTokenId | None = None,
        family: SessionFamilyId | None = None,
    ) -> RefreshSession:
        """The session of one refresh token; a new family unless ``family`` continues one."""
        return cls(
            id=jti or RefreshTokenId.new(),
            family=family or SessionFamilyId.new(),
            user_id=user_id,
            tenant=tenant,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
        )

    def verdict(self, now: datetime) -> RefreshVerdict:
        """Revocation wins over reuse: a family already revoked needs no second alarm."""
        if self.revoked_at is not None:
            return RefreshVerdict.REVOKED
        if self.used_at is not None:
            return RefreshVerdict.REUSED
        if now >= self.expires_at:
            return RefreshVerdict.EXPIRED
        return RefreshVerdict.USABLE

    def consume(self, now: datetime) -> None:
        """Mark the token used; only a usable session may be consumed."""
        if self.verdict(now) is not RefreshVerdict.USABLE:
            raise ValueError("only a usable refresh session can be consumed")
        self.used_at = now
        self.touch(now)

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now
            self.touch(now)
