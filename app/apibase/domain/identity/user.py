"""The user: who may log in to a tenant, with which roles, and the lockout that slows down password guessing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from pydantic import Field, field_validator

from apibase.core.principal import is_valid_tenant_id
from apibase.core.types import Branded
from apibase.domain.entities import VersionedEntity
from apibase.domain.identity.roles import normalise_roles

__all__ = [
    "MAX_EMAIL_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "User",
    "UserId",
    "check_tenant",
    "normalise_email",
    "password_problem",
]

MAX_EMAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


class UserId(Branded):
    __slots__ = ()


def normalise_email(email: str) -> str:
    """Syntax-checked (no DNS lookup) and lower-cased, so one address cannot sign up twice in another case.

    Raises ``ValueError`` with a message safe to show: it never echoes the address.
    """
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValueError(f"an email address has at most {MAX_EMAIL_LENGTH} characters")
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValueError("not a valid email address") from None
    return checked.normalized.lower()


def check_tenant(tenant: str) -> str:
    if not is_valid_tenant_id(tenant):
        raise ValueError("a tenant id is 1-63 lower-case letters, digits or dashes, starting with a letter or digit")
    return tenant


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None: length is the rule (NIST SP 800-63B), not character classes."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        return f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
    return None


class User(VersionedEntity[UserId]):
    """A user belongs to exactly one tenant; the email is unique within it, not across tenants."""

    tenant: str
    email: str
    password_hash: str = Field(min_length=1, repr=False)
    #: Well-formed names; which of them mean anything is the role policy's business (unknown ones grant nothing).
    roles: tuple[str, ...] = ()
    failed_logins: int = Field(default=0, ge=0)
    locked_until: datetime | None = None
    active: bool = True

    @field_validator("tenant")
    @classmethod
    def _tenant_is_a_slug(cls, value: str) -> str:
        return check_tenant(value)

    @field_validator("email")
    @classmethod
    def _email_is_normalised(cls, value: str) -> str:
        return normalise_email(value)

    @field_validator("roles", mode="before")
    @classmethod
    def _roles_are_names(cls, value: Iterable[str]) -> tuple[str, ...]:
        return normalise_roles(value)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def assign_roles(self, roles: Iterable[str]) -> None:
        self.roles = normalise_roles(roles)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def seconds_locked(self, now: datetime) -> int:
        """Whole seconds until the lock ends (rounded up, so a client waiting that long is never early)."""
        if self.locked_until is None or now >= self.locked_until:
            return 0
        remaining = self.locked_until - now
        return int(remaining.total_seconds()) + (1 if remaining % timedelta(seconds=1) else 0)

    def record_failed_login(self, now: datetime, *, max_failures: int, lockout: timedelta) -> None:
        """Count a wrong password; the ``max_failures``-th in a row locks the account for ``lockout``.

        The counter starts over when the lock is set, so after it ends the user again has ``max_failures`` tries.
        """
        self.failed_logins += 1
        if self.failed_logins >= max_failures:
            self.locked_until = now + lockout
            self.failed_logins = 0

    def record_successful_login(self) -> bool:
        """Forget earlier failures; True when that changed anything (so an unchanged user needs no write)."""
        changed = self.failed_logins != 0 or self.locked_until is not None
        self.failed_logins = 0
        self.locked_until = None
        return changed

    def change_password_hash(self, password_hash: str) -> None:
        self.password_hash = password_hash
