"""The identity handlers on buses configured like the kernel's, over in-memory fakes of their ports, with a
hand-moved clock and real JWT minting.

The fakes copy entities in and out (as a database would) and a unit of work rolls back everything it did not
commit, so tests see what a use case really stored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

import pytest

from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.application.identity import (
    IdentityDependencies,
    IdentityRules,
    IdentityStorage,
    RegisterTenant,
    TokenPair,
    UserView,
)
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import AnyAppError, ConcurrencyConflict, UnauthorizedError
from apibase.core.principal import AuthMethod, Principal
from apibase.core.result import Err, Ok, Result
from apibase.domain.events import DomainEvent
from apibase.domain.identity import (
    ApiKey,
    ApiKeyId,
    RefreshSession,
    RefreshTokenId,
    RolePolicy,
    SessionFamilyId,
    User,
    UserId,
)
from apibase.infrastructure.security.identity_adapters import JwtTokenMinting
from apibase.infrastructure.security.tokens import TokenIssuer, TokenPolicy, TokenVerifier, generate_key
from apibase.infrastructure.security.tokens.keys import JwtKeyRing
from apibase.testing.identity import IdentityOnBuses, identity_on_buses
from apibase.testing.roles import widget_role_policy

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Db:
    users: dict[UserId, User] = field(default_factory=dict)
    tenants: set[str] = field(default_factory=set)
    keys: dict[ApiKeyId, ApiKey] = field(default_factory=dict)
    sessions: dict[RefreshTokenId, RefreshSession] = field(default_factory=dict)
    commits: int = 0
    #: Saves of a user that fail with ConcurrencyConflict before one succeeds (a lost race, simulated).
    user_conflicts: int = 0
    #: Tenant claims that fail so, as SQLite fails a write after another writer committed.
    claim_conflicts: int = 0


class FakeUnit:
    def __init__(self, db: Db) -> None:
        self.db = db
        self._snapshot: Db | None = None

    async def __aenter__(self) -> Self:
        self._snapshot = copy.deepcopy(self.db)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        self.db.commits += 1
        self._snapshot = copy.deepcopy(self.db)

    async def rollback(self) -> None:
        if self._snapshot is not None:
            for name in ("users", "tenants", "keys", "sessions"):
                setattr(self.db, name, copy.deepcopy(getattr(self._snapshot, name)))

    def nested(self) -> object:
        raise NotImplementedError

    def collect_events(self) -> list[DomainEvent]:
        return []


def _db(uow: UnitOfWork) -> Db:
    assert isinstance(uow, FakeUnit)
    return uow.db


class FakeUsers:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def get(self, user_id: UserId, *, tenant: str) -> User | None:
        user = self.db.users.get(user_id)
        return user.model_copy(deep=True) if user is not None and user.tenant == tenant else None

    async def get_by_email(self, email: str, *, tenant: str) -> User | None:
        found = [u for u in self.db.users.values() if (u.tenant, u.email) == (tenant, email)]
        return found[0].model_copy(deep=True) if found else None

    async def list_in_tenant(self, tenant: str) -> list[User]:
        members = [u.model_copy(deep=True) for u in self.db.users.values() if u.tenant == tenant]
        return sorted(members, key=lambda u: u.email)

    async def tenant_has_users(self, tenant: str) -> bool:
        return any(u.tenant == tenant for u in self.db.users.values())

    async def claim_tenant(self, tenant: str, at: datetime) -> bool:
        if self.db.claim_conflicts:
            self.db.claim_conflicts -= 1
            raise ConcurrencyConflict("the data changed concurrently")
        if tenant in self.db.tenants:
            return False
        self.db.tenants.add(tenant)
        return True

    async def add(self, user: User) -> None:
        from apibase.application.identity import EmailTakenError

        if await self.get_by_email(user.email, tenant=user.tenant) is not None:
            raise EmailTakenError("taken")
        self.db.users[user.id] = user.model_copy(deep=True)

    async def save(self, user: User) -> None:
        if self.db.user_conflicts:
            self.db.user_conflicts -= 1
            raise ConcurrencyConflict("lost a race")
        stored = self.db.users[user.id]
        if stored.version != user.version:
            raise ConcurrencyConflict("stale")
        user.version += 1
        self.db.users[user.id] = user.model_copy(deep=True)


class FakeKeys:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def add(self, key: ApiKey) -> None:
        assert all(k.prefix != key.prefix for k in self.db.keys.values())
        self.db.keys[key.id] = key.model_copy(deep=True)

    async def get(self, key_id: ApiKeyId, *, user_id: UserId, tenant: str) -> ApiKey | None:
        key = self.db.keys.get(key_id)
        if key is None or (key.user_id, key.tenant) != (user_id, tenant):
            return None
        return key.model_copy(deep=True)

    async def get_by_prefix(self, prefix: str) -> ApiKey | None:
        found = [k for k in self.db.keys.values() if k.prefix == prefix]
        return found[0].model_copy(deep=True) if found else None

    async def list_for_user(self, user_id: UserId, *, tenant: str) -> list[ApiKey]:
        owned = [k for k in self.db.keys.values() if (k.user_id, k.tenant) == (user_id, tenant)]
        return [k.model_copy(deep=True) for k in sorted(owned, key=lambda k: k.created_at, reverse=True)]

    async def save(self, key: ApiKey) -> None:
        self.db.keys[key.id] = key.model_copy(deep=True)

    async def record_use(self, key_id: ApiKeyId, at: datetime, *, not_after: datetime) -> None:
        key = self.db.keys[key_id]
        if key.last_used_at is None or key.last_used_at <= not_after:
            key.last_used_at = at


class FakeSessions:
    def __init__(self, db: Db) -> None:
        self.db = db

    async def add(self, session: RefreshSession) -> None:
        self.db.sessions[session.id] = session.model_copy(deep=True)

    async def get(self, jti: RefreshTokenId) -> RefreshSession | None:
        session = self.db.sessions.get(jti)
        return session.model_copy(deep=True) if session is not None else None

    async def mark_used(self, session: RefreshSession) -> bool:
        stored = self.db.sessions[session.id]
        if stored.used_at is not None or stored.revoked_at is not None:
            return False
        stored.used_at = session.used_at
        return True

    async def revoke_family(self, family: SessionFamilyId, at: datetime) -> int:
        live = [s for s in self.db.sessions.values() if s.family == family and s.revoked_at is None]
        for session in live:
            session.revoked_at = at
        return len(live)


class FakeHasher:
    """``v<n>$<password>``: instant, and ``current`` says which version ``needs_rehash`` wants."""

    def __init__(self) -> None:
        self.current = "v1"
        self.verified: list[str | None] = []

    async def hash(self, password: str) -> str:
        return f"{self.current}${password}"

    async def verify(self, password: str, stored_hash: str | None) -> Result[None, UnauthorizedError]:
        self.verified.append(stored_hash)
        if stored_hash is not None and stored_hash.split("$", 1)[1] == password:
            return Ok(None)
        return Err(UnauthorizedError("wrong"))

    def needs_rehash(self, stored_hash: str) -> bool:
        return not stored_hash.startswith(f"{self.current}$")


@dataclass
class World:
    identity: IdentityOnBuses
    dependencies: IdentityDependencies
    db: Db
    clock: Clock
    hasher: FakeHasher
    verifier: TokenVerifier

    async def admin(self, tenant: str = "acme", email: str = "admin@example.com") -> tuple[UserView, Principal]:
        """Sign up a new tenant; its admin's view and principal."""
        user = (await self.send(RegisterTenant(email=email, password=PASSWORD, tenant=tenant))).unwrap()
        return user, self.principal(user)

    async def send[R](self, command: BaseCommand[R]) -> Result[R, AnyAppError]:
        return await self.identity.send(command)

    async def ask[R](self, query: BaseQuery[R]) -> Result[R, AnyAppError]:
        return await self.identity.ask(query)

    async def login(self, email: str, password: str, tenant: str) -> Result[TokenPair, AnyAppError]:
        return await self.identity.login(email, password, tenant)

    def with_roles(self, roles: RolePolicy) -> IdentityOnBuses:
        """The handlers over the same storage, with another role policy."""
        return identity_on_buses(lambda: FakeUnit(self.db), replace(self.dependencies, roles=roles))

    def principal(self, user: UserView) -> Principal:
        roles = frozenset(user.roles)
        permissions = self.dependencies.roles.permissions_for(roles)
        return Principal(str(user.id), user.tenant, roles, permissions, AuthMethod.ACCESS_TOKEN)


@pytest.fixture
def world() -> World:
    db, clock, hasher = Db(), Clock(), FakeHasher()
    ring = JwtKeyRing([generate_key(kid="k1", created_at=1.0)])
    issuer = TokenIssuer(ring, issuer="apibase", audience="apibase", clock=clock.epoch)
    verifier = TokenVerifier(ring, TokenPolicy(issuer="apibase", audience="apibase"), clock=clock.epoch)
    storage = IdentityStorage(
        users=lambda uow: FakeUsers(_db(uow)),
        api_keys=lambda uow: FakeKeys(_db(uow)),
        sessions=lambda uow: FakeSessions(_db(uow)),
    )
    tokens = JwtTokenMinting(issuer, verifier)
    dependencies = IdentityDependencies(
        storage,
        hasher=hasher,
        tokens=lambda: tokens,
        roles=widget_role_policy(),
        rules=IdentityRules(max_failed_logins=3, lockout_seconds=600, api_key_grace_seconds=3600),
        clock=clock,
    )
    return World(identity_on_buses(lambda: FakeUnit(db), dependencies), dependencies, db, clock, hasher, verifier)
