"""What the identity use cases hand back: views without password hashes, and secrets kept out of reprs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from apibase.domain.identity.api_key import ApiKey, ApiKeyId
from apibase.domain.identity.user import User, UserId

__all__ = ["ApiKeyView", "IssuedApiKey", "TokenPair", "UserView"]


class UserView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UserId
    tenant: str
    email: str
    roles: tuple[str, ...]
    active: bool
    locked_until: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_user(cls, user: User) -> UserView:
        return cls.model_validate(user, from_attributes=True)


class ApiKeyView(BaseModel):
    """The public face of a key: the prefix identifies it in lists; the secret is never shown again."""

    model_config = ConfigDict(frozen=True)

    id: ApiKeyId
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_key(cls, key: ApiKey) -> ApiKeyView:
        return cls.model_validate(key, from_attributes=True)


class IssuedApiKey(BaseModel):
    """A new key with its secret, shown once."""

    model_config = ConfigDict(frozen=True)

    key: ApiKeyView
    secret: str = Field(repr=False)


class TokenPair(BaseModel):
    """OAuth 2.0 token response members; lifetimes in seconds from now."""

    model_config = ConfigDict(frozen=True)

    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_expires_in: int
