"""The identity commands: every change to users, sessions and API keys goes through the kernel's command bus.

Commands that act for a caller carry the caller's whole ``Principal`` (``actor``): the handlers check its
permissions and act in its tenant. Secrets (passwords, tokens, keys) are left out of reprs; the bus never logs
field values anyway. Ids arrive as text from a path or a token: a malformed one is answered like an unknown one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import Field

from apibase.application.cqrs.messages import BaseCommand
from apibase.application.identity.dto import ApiKeyView, IssuedApiKey, TokenPair, UserView
from apibase.core.principal import Principal
from apibase.domain.identity.api_key import ApiKeyId
from apibase.domain.identity.user import UserId

__all__ = [
    "USER_WRITE_ATTEMPTS",
    "AddUser",
    "AuthenticateApiKey",
    "CreateApiKey",
    "Logout",
    "OpenSession",
    "RecordFailedLogin",
    "RegisterTenant",
    "RevokeApiKey",
    "RotateApiKey",
    "RotateRefreshToken",
    "SetRoles",
]

#: A write that lost a race is re-read and re-applied this often before giving up, so concurrent wrong passwords
#: are all counted (a lost race must not be a free guess).
USER_WRITE_ATTEMPTS = 5


class RegisterTenant(BaseCommand[UserView]):
    """Self-service sign-up: opens a new tenant whose first user is the superuser; an existing tenant is closed.

    A lost race (SQLite refuses a write after another writer committed) is run again: the fresh read then finds
    the tenant claimed, or not.
    """

    conflict_attempts: ClassVar[int] = USER_WRITE_ATTEMPTS

    email: str
    password: str = Field(repr=False)
    tenant: str


class AddUser(BaseCommand[UserView]):
    """An admin adds a user to their own tenant (never to another); ``roles`` None: the policy's default roles."""

    actor: Principal
    email: str
    password: str = Field(repr=False)
    roles: tuple[str, ...] | None = None


class SetRoles(BaseCommand[UserView]):
    """Replace a user's roles; an admin cannot take the superuser role from themselves."""

    conflict_attempts: ClassVar[int] = USER_WRITE_ATTEMPTS

    actor: Principal
    target: UserId | str
    roles: tuple[str, ...]


class RecordFailedLogin(BaseCommand[None]):
    """Count a wrong password against the user, locking the account after too many (sent by ``PasswordLogin``)."""

    conflict_attempts: ClassVar[int] = USER_WRITE_ATTEMPTS

    account: UserId
    tenant: str


class OpenSession(BaseCommand[TokenPair]):
    """Start a session for a user whose password ``PasswordLogin`` has just verified: reset the failure count,
    store ``new_password_hash`` when the stored one was made with outdated parameters, issue a token pair."""

    conflict_attempts: ClassVar[int] = USER_WRITE_ATTEMPTS

    account: UserId
    tenant: str
    new_password_hash: str | None = Field(default=None, repr=False)


class RotateRefreshToken(BaseCommand[TokenPair]):
    """Use up a refresh token for a new pair in its family; a token presented twice revokes the family.

    The revocation is the point of refusing a reused token, so it is committed although the answer is an ``Err``.
    """

    commit_on_err: ClassVar[bool] = True

    refresh_token: str = Field(repr=False)


class Logout(BaseCommand[None]):
    """Revoke the refresh token's whole family; logging out twice (or of an unknown session) is fine."""

    refresh_token: str = Field(repr=False)


class CreateApiKey(BaseCommand[IssuedApiKey]):
    """A key for the caller themselves; its secret is in the answer only."""

    actor: Principal
    name: str
    expires_in: timedelta | None = None


class RevokeApiKey(BaseCommand[ApiKeyView]):
    """Idempotent: revoking a revoked key answers the key as it is."""

    actor: Principal
    key_id: ApiKeyId | str


class RotateApiKey(BaseCommand[IssuedApiKey]):
    """A successor with the same name and lifetime; the old key keeps working for the grace period only."""

    actor: Principal
    key_id: ApiKeyId | str


class AuthenticateApiKey(BaseCommand[Principal]):
    """The key's user with the user's current roles; a command because it records the key's last use."""

    secret: str = Field(repr=False)
