"""The identity use cases: sign-up, users and roles, login with lockout, refresh rotation, API keys.

Every use case opens its own unit of work and returns a ``Result``. Some failures must still be stored (a
counted wrong password, a family revoked because a refresh token was reused), so those paths commit before
returning their ``Err``. Password hashing runs outside any transaction: it takes tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apibase.application.identity.dto import ApiKeyView, IssuedApiKey, TokenPair, UserView
from apibase.application.identity.errors import (
    AccountLockedError,
    ApiKeyNotFoundError,
    ApiKeyRevokedError,
    InvalidApiKeyError,
    PermissionDeniedError,
    RefreshReusedError,
    RefreshRevokedError,
    SelfDemotionError,
    TenantClosedError,
    UserNotFoundError,
)
from apibase.application.identity.ports import (
    ApiKeyRepository,
    IdentityStorage,
    PasswordHashing,
    RefreshSessionRepository,
    TokenMinting,
    UserRepository,
)
from apibase.application.identity.principals import build_principal
from apibase.application.identity.validation import FieldChecks
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import (
    AnyAppError,
    ApplicationError,
    ConcurrencyConflict,
    DomainError,
    InfrastructureError,
    UnauthorizedError,
)
from apibase.core.principal import AuthMethod, Principal
from apibase.core.result import Err, Ok, Result
from apibase.domain.entities import utc_now
from apibase.domain.identity.api_key import LAST_USED_RESOLUTION, ApiKey, ApiKeyId, prefix_of
from apibase.domain.identity.permissions import USERS_MANAGE, Permission
from apibase.domain.identity.refresh_session import RefreshSession, RefreshTokenId, RefreshVerdict, SessionFamilyId
from apibase.domain.identity.roles import RolePolicy
from apibase.domain.identity.user import User, UserId, check_tenant, normalise_email

__all__ = ["IdentityService"]

_EXPECTED = (DomainError, ApplicationError, InfrastructureError)
#: A version-guarded user write that lost a race is re-read and re-applied this often before giving up, so
#: concurrent wrong passwords are all counted (a lost race must not be a free guess).
_USER_WRITE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class _Unit:
    """The repositories of one unit of work."""

    uow: UnitOfWork
    users: UserRepository
    api_keys: ApiKeyRepository
    sessions: RefreshSessionRepository


class IdentityService:
    """Plain values in (no settings object), ports for storage, hashing and tokens, the role policy."""

    def __init__(
        self,
        storage: IdentityStorage,
        *,
        hasher: PasswordHashing,
        tokens: TokenMinting,
        roles: RolePolicy,
        max_failed_logins: int = 5,
        lockout_seconds: int = 900,
        api_key_grace_seconds: int = 86_400,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if max_failed_logins < 1 or lockout_seconds < 1 or api_key_grace_seconds < 0:
            raise ValueError("lockout needs at least one attempt and one second; the grace period cannot be negative")
        self._storage = storage
        self._hasher = hasher
        self._tokens = tokens
        self._roles = roles
        self._max_failed_logins = max_failed_logins
        self._lockout = timedelta(seconds=lockout_seconds)
        self._grace = timedelta(seconds=api_key_grace_seconds)
        self._clock = clock

    # -- transactions ----------------------------------------------------------------------------------------
    async def _run[T](
        self, work: Callable[[_Unit], Awaitable[Result[T, AnyAppError]]], *, keep_failure: bool = False
    ) -> Result[T, AnyAppError]:
        """Commit on ``Ok`` (and on ``Err`` with ``keep_failure``); a raised expected error rolls back."""
        try:
            async with self._storage.unit_of_work() as uow:
                unit = _Unit(uow, self._storage.users(uow), self._storage.api_keys(uow), self._storage.sessions(uow))
                result = await work(unit)
                if isinstance(result, Ok) or keep_failure:
                    await uow.commit()
                return result
        except _EXPECTED as error:
            return Err(error)

    async def _change_user[T](
        self,
        user_id: UserId,
        tenant: str,
        change: Callable[[_Unit, User], Awaitable[Result[T, AnyAppError]]],
        *,
        keep_failure: bool = False,
    ) -> Result[T, AnyAppError]:
        """Read the user, apply ``change`` and commit; on a lost version race, start over from a fresh read."""

        async def work(unit: _Unit) -> Result[T, AnyAppError]:
            user = await unit.users.get(user_id, tenant=tenant)
            if user is None:
                return Err(UserNotFoundError(f"user {user_id} does not exist"))
            return await change(unit, user)

        result: Result[T, AnyAppError] = Err(ConcurrencyConflict("the user kept changing; retry"))
        for _ in range(_USER_WRITE_ATTEMPTS):
            result = await self._run(work, keep_failure=keep_failure)
            if not (isinstance(result, Err) and isinstance(result.error, ConcurrencyConflict)):
                return result
        return result

    # -- users -----------------------------------------------------------------------------------------------
    async def register(self, email: str, password: str, tenant: str) -> Result[UserView, AnyAppError]:
        """Self-service sign-up opens a new tenant; its first user is the superuser; an existing tenant is closed."""
        checks = FieldChecks()
        normalised, slug, accepted = checks.email(email), checks.tenant(tenant), checks.password(password)
        if normalised is None or slug is None or accepted is None:
            return checks.failure()
        password_hash = await self._hasher.hash(accepted)
        now = self._clock()

        async def work(unit: _Unit) -> Result[UserView, AnyAppError]:
            if await unit.users.tenant_has_users(slug) or not await unit.users.claim_tenant(slug, now):
                return Err(TenantClosedError(f"tenant {slug} already exists; ask its admin for an account"))
            user = self._new_user(slug, normalised, password_hash, (self._roles.superuser,), now)
            await unit.users.add(user)
            return Ok(UserView.from_user(user))

        return await self._run(work)

    async def add_user(
        self, actor: Principal, email: str, password: str, roles: Iterable[str] | None = None
    ) -> Result[UserView, AnyAppError]:
        """An admin adds a user to their own tenant (never to another); no ``roles``: the policy's default roles."""
        if isinstance(denied := _require(actor, USERS_MANAGE), Err):
            return denied
        checks = FieldChecks()
        wanted = self._roles.default_roles if roles is None else roles
        normalised, accepted = checks.email(email), checks.password(password)
        granted = checks.roles(wanted, self._roles)
        if normalised is None or accepted is None or granted is None:
            return checks.failure()
        password_hash = await self._hasher.hash(accepted)
        now = self._clock()

        async def work(unit: _Unit) -> Result[UserView, AnyAppError]:
            user = self._new_user(actor.tenant, normalised, password_hash, granted, now)
            await unit.users.add(user)
            return Ok(UserView.from_user(user))

        return await self._run(work)

    async def set_roles(
        self, actor: Principal, user_id: UserId | str, roles: Iterable[str]
    ) -> Result[UserView, AnyAppError]:
        if isinstance(denied := _require(actor, USERS_MANAGE), Err):
            return denied
        checks = FieldChecks()
        granted = checks.roles(roles, self._roles)
        if granted is None:
            return checks.failure()
        target = _parse_id(UserId, user_id)
        if target is None:
            return Err(UserNotFoundError(f"user {user_id} does not exist"))

        async def change(unit: _Unit, user: User) -> Result[UserView, AnyAppError]:
            superuser = self._roles.superuser
            if str(user.id) == actor.subject and user.has_role(superuser) and superuser not in granted:
                return Err(SelfDemotionError(f"an admin cannot remove their own {superuser} role; another admin can"))
            user.assign_roles(granted)
            await unit.users.save(user)
            return Ok(UserView.from_user(user))

        return await self._change_user(target, actor.tenant, change)

    async def me(self, principal: Principal) -> Result[UserView, AnyAppError]:
        user_id = _parse_id(UserId, principal.subject)
        if user_id is None:
            return Err(UserNotFoundError("the caller is not a user of this service"))

        async def work(unit: _Unit) -> Result[UserView, AnyAppError]:
            user = await unit.users.get(user_id, tenant=principal.tenant)
            if user is None:
                return Err(UserNotFoundError(f"user {user_id} does not exist"))
            return Ok(UserView.from_user(user))

        return await self._run(work)

    async def list_users(self, actor: Principal) -> Result[list[UserView], AnyAppError]:
        if isinstance(denied := _require(actor, USERS_MANAGE), Err):
            return denied

        async def work(unit: _Unit) -> Result[list[UserView], AnyAppError]:
            return Ok([UserView.from_user(user) for user in await unit.users.list_in_tenant(actor.tenant)])

        return await self._run(work)

    @staticmethod
    def _new_user(tenant: str, email: str, password_hash: str, roles: Iterable[str], now: datetime) -> User:
        return User(
            id=UserId.new(),
            tenant=tenant,
            email=email,
            password_hash=password_hash,
            roles=tuple(roles),
            created_at=now,
            updated_at=now,
        )

    # -- sessions --------------------------------------------------------------------------------------------
    async def login(self, email: str, password: str, tenant: str) -> Result[TokenPair, AnyAppError]:
        """Unknown, deactivated and malformed accounts cost one hash verification and get the same answer."""
        found = await self._find_login_user(email, tenant)
        if isinstance(found, Err):
            return found
        user = found.value
        if user is not None and user.is_locked(self._clock()):
            return Err(self._locked(user))
        verified = await self._hasher.verify(password, user.password_hash if user is not None else None)
        if user is None:
            if isinstance(verified, Ok):
                raise RuntimeError("PasswordHashing.verify accepted a login without a stored hash")
            return verified
        if isinstance(verified, Err):
            return await self._count_failure(user, verified.error)
        new_hash = await self._hasher.hash(password) if self._hasher.needs_rehash(user.password_hash) else None

        async def succeed(unit: _Unit, current: User) -> Result[TokenPair, AnyAppError]:
            now = self._clock()
            if current.is_locked(now):  # locked by concurrent failures since the read above
                return Err(self._locked(current))
            changed = current.record_successful_login()
            if new_hash is not None:
                current.change_password_hash(new_hash)
            if changed or new_hash is not None:
                await unit.users.save(current)
            return Ok(await self._issue_pair(unit, current, SessionFamilyId.new(), now))

        return await self._change_user(user.id, user.tenant, succeed)

    async def _find_login_user(self, email: str, tenant: str) -> Result[User | None, AnyAppError]:
        """The active user behind the login, or None (also for input that cannot name a user at all)."""
        try:
            normalised, slug = normalise_email(email), check_tenant(tenant)
        except ValueError:
            return Ok(None)

        async def work(unit: _Unit) -> Result[User | None, AnyAppError]:
            user = await unit.users.get_by_email(normalised, tenant=slug)
            return Ok(user if user is not None and user.active else None)

        return await self._run(work)

    async def _count_failure(self, user: User, error: UnauthorizedError) -> Result[TokenPair, AnyAppError]:
        async def fail(unit: _Unit, current: User) -> Result[TokenPair, AnyAppError]:
            current.record_failed_login(self._clock(), max_failures=self._max_failed_logins, lockout=self._lockout)
            await unit.users.save(current)
            return Err(error)

        return await self._change_user(user.id, user.tenant, fail, keep_failure=True)

    def _locked(self, user: User) -> AccountLockedError:
        seconds = user.seconds_locked(self._clock())
        return AccountLockedError(
            f"too many failed logins; try again in {seconds} seconds", retry_after_seconds=max(seconds, 1)
        )

    async def _issue_pair(self, unit: _Unit, user: User, family: SessionFamilyId, now: datetime) -> TokenPair:
        subject, jti = str(user.id), RefreshTokenId.new()
        refresh = self._tokens.refresh_token(subject=subject, tenant=user.tenant, family=str(family), token_id=str(jti))
        expires_at = datetime.fromtimestamp(refresh.expires_at, UTC)
        await unit.sessions.add(
            RefreshSession.start(
                user_id=user.id, tenant=user.tenant, now=now, expires_at=expires_at, jti=jti, family=family
            )
        )
        access = self._tokens.access_token(subject=subject, tenant=user.tenant, roles=user.roles)
        moment = int(now.timestamp())
        return TokenPair(
            access_token=access.token,
            refresh_token=refresh.token,
            expires_in=max(access.expires_at - moment, 0),
            refresh_expires_in=max(refresh.expires_at - moment, 0),
        )

    async def refresh(self, refresh_token: str) -> Result[TokenPair, AnyAppError]:
        """Rotate: the presented token is used up and a new pair continues its family.

        Presenting a used token revokes the whole family (the thief's copy and the client's alike).
        """
        verified = self._tokens.verify_refresh(refresh_token)
        if isinstance(verified, Err):
            return verified
        claims = verified.value

        async def work(unit: _Unit) -> Result[TokenPair, AnyAppError]:
            now = self._clock()
            session = await self._session_of(unit, claims.token_id, claims.subject, claims.tenant, claims.family)
            if session is None:
                return Err(RefreshRevokedError("this session has ended; log in again"))
            verdict = session.verdict(now)
            if verdict is RefreshVerdict.USABLE:
                session.consume(now)
                if not await unit.sessions.mark_used(session):
                    verdict = RefreshVerdict.REUSED  # a concurrent refresh used it first
            if verdict is RefreshVerdict.REUSED:
                await unit.sessions.revoke_family(session.family, now)
                return Err(RefreshReusedError("this refresh token was already used; every session of it is revoked"))
            if verdict is not RefreshVerdict.USABLE:
                return Err(RefreshRevokedError("this session has ended; log in again"))
            user = await unit.users.get(session.user_id, tenant=session.tenant)
            if user is None or not user.active:
                await unit.sessions.revoke_family(session.family, now)
                return Err(RefreshRevokedError("this session has ended; log in again"))
            return Ok(await self._issue_pair(unit, user, session.family, now))

        return await self._run(work, keep_failure=True)

    @staticmethod
    async def _session_of(unit: _Unit, token_id: str, subject: str, tenant: str, family: str) -> RefreshSession | None:
        """The stored session, only if it agrees with every claim of the token that names it."""
        jti = _parse_id(RefreshTokenId, token_id)
        session = None if jti is None else await unit.sessions.get(jti)
        if session is None:
            return None
        if (str(session.user_id), session.tenant, str(session.family)) != (subject, tenant, family):
            return None
        return session

    async def logout(self, refresh_token: str) -> Result[None, AnyAppError]:
        """Revoke the token's whole family; logging out twice (or of an unknown session) is fine."""
        verified = self._tokens.verify_refresh(refresh_token)
        if isinstance(verified, Err):
            return verified
        claims = verified.value

        async def work(unit: _Unit) -> Result[None, AnyAppError]:
            session = await self._session_of(unit, claims.token_id, claims.subject, claims.tenant, claims.family)
            if session is not None:
                await unit.sessions.revoke_family(session.family, self._clock())
            return Ok(None)

        return await self._run(work)

    # -- API keys --------------------------------------------------------------------------------------------
    async def create_api_key(
        self, principal: Principal, name: str, expires_in: timedelta | None = None
    ) -> Result[IssuedApiKey, AnyAppError]:
        """A key for the caller themselves; its secret is in this answer only."""
        checks = FieldChecks()
        cleaned = checks.api_key_name(name)
        lifetime_ok = checks.lifetime(expires_in)
        if cleaned is None or not lifetime_ok:
            return checks.failure()
        user_id = _parse_id(UserId, principal.subject)
        if user_id is None:
            return Err(UserNotFoundError("the caller is not a user of this service"))

        async def work(unit: _Unit) -> Result[IssuedApiKey, AnyAppError]:
            user = await unit.users.get(user_id, tenant=principal.tenant)
            if user is None or not user.active:
                return Err(UserNotFoundError(f"user {user_id} does not exist"))
            key, secret = ApiKey.issue(
                user_id=user.id, tenant=user.tenant, name=cleaned, now=self._clock(), expires_in=expires_in
            )
            await unit.api_keys.add(key)
            return Ok(IssuedApiKey(key=ApiKeyView.from_key(key), secret=secret))

        return await self._run(work)

    async def list_api_keys(self, principal: Principal) -> Result[list[ApiKeyView], AnyAppError]:
        user_id = _parse_id(UserId, principal.subject)
        if user_id is None:
            return Ok([])

        async def work(unit: _Unit) -> Result[list[ApiKeyView], AnyAppError]:
            keys = await unit.api_keys.list_for_user(user_id, tenant=principal.tenant)
            return Ok([ApiKeyView.from_key(key) for key in keys])

        return await self._run(work)

    async def revoke_api_key(self, principal: Principal, key_id: ApiKeyId | str) -> Result[ApiKeyView, AnyAppError]:
        """Idempotent: revoking a revoked key answers the key as it is."""

        async def change(unit: _Unit, key: ApiKey) -> Result[ApiKeyView, AnyAppError]:
            if key.revoked_at is None:
                key.revoke(self._clock())
                await unit.api_keys.save(key)
            return Ok(ApiKeyView.from_key(key))

        return await self._change_own_key(principal, key_id, change)

    async def rotate_api_key(self, principal: Principal, key_id: ApiKeyId | str) -> Result[IssuedApiKey, AnyAppError]:
        """A successor with the same name and lifetime; the old key keeps working for the grace period only."""

        async def change(unit: _Unit, old: ApiKey) -> Result[IssuedApiKey, AnyAppError]:
            now = self._clock()
            if not old.is_valid(now):
                return Err(ApiKeyRevokedError(f"API key {old.id} is revoked or expired; create a new one"))
            lifetime = None if old.expires_at is None else old.expires_at - old.created_at
            new, secret = ApiKey.issue(
                user_id=old.user_id, tenant=old.tenant, name=old.name, now=now, expires_in=lifetime
            )
            old.expire_by(now + self._grace)
            await unit.api_keys.save(old)
            await unit.api_keys.add(new)
            return Ok(IssuedApiKey(key=ApiKeyView.from_key(new), secret=secret))

        return await self._change_own_key(principal, key_id, change)

    async def _change_own_key[T](
        self,
        principal: Principal,
        key_id: ApiKeyId | str,
        change: Callable[[_Unit, ApiKey], Awaitable[Result[T, AnyAppError]]],
    ) -> Result[T, AnyAppError]:
        wanted, owner = _parse_id(ApiKeyId, key_id), _parse_id(UserId, principal.subject)
        if wanted is None or owner is None:
            return Err(ApiKeyNotFoundError(f"API key {key_id} does not exist"))

        async def work(unit: _Unit) -> Result[T, AnyAppError]:
            key = await unit.api_keys.get(wanted, user_id=owner, tenant=principal.tenant)
            if key is None:
                return Err(ApiKeyNotFoundError(f"API key {key_id} does not exist"))
            return await change(unit, key)

        return await self._run(work)

    async def authenticate_api_key(self, secret: str) -> Result[Principal, UnauthorizedError]:
        """The key's user, with the user's current roles; ``last_used_at`` is written at most once a minute."""
        prefix = prefix_of(secret)
        refused = InvalidApiKeyError("the API key is invalid, revoked or expired")
        if prefix is None:
            return Err(refused)

        async def work(unit: _Unit) -> Result[Principal, AnyAppError]:
            now = self._clock()
            key = await unit.api_keys.get_by_prefix(prefix)
            if key is None or not key.matches(secret) or not key.is_valid(now):
                return Err(refused)
            user = await unit.users.get(key.user_id, tenant=key.tenant)
            if user is None or not user.active:
                return Err(refused)
            if key.use_is_worth_recording(now):
                await unit.api_keys.record_use(key.id, now, not_after=now - LAST_USED_RESOLUTION)
            return Ok(build_principal(str(user.id), user.tenant, user.roles, AuthMethod.API_KEY, policy=self._roles))

        result = await self._run(work)
        if isinstance(result, Err):
            if isinstance(result.error, UnauthorizedError):
                return Err(result.error)
            raise result.error  # storage failing is a fault (503/500), never a refused key
        return result


def _require(actor: Principal, permission: Permission) -> Result[None, AnyAppError]:
    if actor.has(permission):
        return Ok(None)
    detail = f"this needs the {permission} permission"
    return Err(PermissionDeniedError(detail, extensions={"permission": str(permission)}))


def _parse_id[B: (UserId, ApiKeyId, RefreshTokenId)](kind: type[B], value: B | str) -> B | None:
    """An id from a path or a token; a malformed one is treated like an unknown one (404/401, never 422)."""
    if isinstance(value, kind):
        return value
    try:
        return kind.parse(str(value))
    except ValueError:
        return None
