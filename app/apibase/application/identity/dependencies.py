"""What every identity handler is built from: plain values and ports, wired once by the identity module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apibase.application.identity.ports import IdentityStorage, PasswordHashing, TokenMinting
from apibase.domain.entities import utc_now
from apibase.domain.identity.roles import RolePolicy

__all__ = ["IdentityDependencies", "IdentityRules"]


@dataclass(frozen=True, slots=True)
class IdentityRules:
    """Lockout after failed logins, and how long a rotated API key keeps working (``settings.auth``'s values)."""

    max_failed_logins: int = 5
    lockout_seconds: int = 900
    api_key_grace_seconds: int = 86_400

    def __post_init__(self) -> None:
        if self.max_failed_logins < 1 or self.lockout_seconds < 1 or self.api_key_grace_seconds < 0:
            raise ValueError("lockout needs at least one attempt and one second; the grace period cannot be negative")

    @property
    def lockout(self) -> timedelta:
        return timedelta(seconds=self.lockout_seconds)

    @property
    def api_key_grace(self) -> timedelta:
        return timedelta(seconds=self.api_key_grace_seconds)


@dataclass(frozen=True, slots=True)
class IdentityDependencies:
    """``tokens`` is asked for at each use: the signing keys load when the application starts, after wiring."""

    storage: IdentityStorage
    hasher: PasswordHashing
    tokens: Callable[[], TokenMinting]
    roles: RolePolicy
    rules: IdentityRules = field(default_factory=IdentityRules)
    clock: Callable[[], datetime] = utc_now
