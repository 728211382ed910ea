"""Sessions: the steps of a password login, refresh-token rotation with reuse detection, and logout.

A session is a family of refresh tokens: each refresh uses one up and continues the family with the next, so a
token that comes back after it was used shows that someone holds a copy, and the whole family is revoked.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apibase.application.cqrs.handlers import CommandHandler, QueryHandler
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.application.identity.access import parse_id
from apibase.application.identity.commands import Logout, OpenSession, RecordFailedLogin, RotateRefreshToken
from apibase.application.identity.dependencies import IdentityDependencies
from apibase.application.identity.dto import TokenPair
from apibase.application.identity.errors import (
    AccountLockedError,
    RefreshReusedError,
    RefreshRevokedError,
    UserNotFoundError,
)
from apibase.application.identity.ports import RefreshSessionRepository, RefreshTokenClaims
from apibase.application.identity.queries import FindLoginUser
from apibase.core.errors import AnyAppError
from apibase.core.result import Err, Ok, Result
from apibase.domain.identity.refresh_session import RefreshSession, RefreshTokenId, RefreshVerdict, SessionFamilyId
from apibase.domain.identity.user import User, check_tenant, normalise_email

__all__ = [
    "FindLoginUserHandler",
    "LogoutHandler",
    "OpenSessionHandler",
    "RecordFailedLoginHandler",
    "RotateRefreshTokenHandler",
    "locked_error",
]

_ENDED = "this session has ended; log in again"


def locked_error(user: User, now: datetime) -> AccountLockedError:
    seconds = user.seconds_locked(now)
    return AccountLockedError(
        f"too many failed logins; try again in {seconds} seconds", retry_after_seconds=max(seconds, 1)
    )


async def _issue_pair(
    dependencies: IdentityDependencies, user: User, family: SessionFamilyId, now: datetime
) -> TokenPair:
    """Store the new session of ``family`` in the current unit of work and mint its tokens."""
    tokens = dependencies.tokens()
    subject, jti = str(user.id), RefreshTokenId.new()
    refresh = tokens.refresh_token(subject=subject, tenant=user.tenant, family=str(family), token_id=str(jti))
    expires_at = datetime.fromtimestamp(refresh.expires_at, UTC)
    session = RefreshSession.start(
        user_id=user.id, tenant=user.tenant, now=now, expires_at=expires_at, jti=jti, family=family
    )
    await dependencies.storage.sessions(current_unit_of_work()).add(session)
    access = tokens.access_token(subject=subject, tenant=user.tenant, roles=user.roles)
    moment = int(now.timestamp())
    return TokenPair(
        access_token=access.token,
        refresh_token=refresh.token,
        expires_in=max(access.expires_at - moment, 0),
        refresh_expires_in=max(refresh.expires_at - moment, 0),
    )


async def _session_of(sessions: RefreshSessionRepository, claims: RefreshTokenClaims) -> RefreshSession | None:
    """The stored session, only if it agrees with every claim of the token that names it."""
    jti = parse_id(RefreshTokenId, claims.token_id)
    session = None if jti is None else await sessions.get(jti)
    if session is None:
        return None
    if (str(session.user_id), session.tenant, str(session.family)) != (claims.subject, claims.tenant, claims.family):
        return None
    return session


class FindLoginUserHandler(QueryHandler[FindLoginUser, User | None]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, query: FindLoginUser) -> Result[User | None, AnyAppError]:
        try:
            email, tenant = normalise_email(query.email), check_tenant(query.tenant)
        except ValueError:
            return Ok(None)
        user = await self._dependencies.storage.users(current_unit_of_work()).get_by_email(email, tenant=tenant)
        return Ok(user if user is not None and user.active else None)


class RecordFailedLoginHandler(CommandHandler[RecordFailedLogin, None]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: RecordFailedLogin) -> Result[None, AnyAppError]:
        deps = self._dependencies
        users = deps.storage.users(current_unit_of_work())
        user = await users.get(command.account, tenant=command.tenant)
        if user is None:
            return Err(UserNotFoundError(f"user {command.account} does not exist"))
        rules = deps.rules
        user.record_failed_login(deps.clock(), max_failures=rules.max_failed_logins, lockout=rules.lockout)
        await users.save(user)
        return Ok(None)


class OpenSessionHandler(CommandHandler[OpenSession, TokenPair]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: OpenSession) -> Result[TokenPair, AnyAppError]:
        deps = self._dependencies
        users = deps.storage.users(current_unit_of_work())
        user = await users.get(command.account, tenant=command.tenant)
        if user is None:
            return Err(UserNotFoundError(f"user {command.account} does not exist"))
        now = deps.clock()
        if user.is_locked(now):  # locked by concurrent failures since the password was checked
            return Err(locked_error(user, now))
        changed = user.record_successful_login()
        if command.new_password_hash is not None:
            user.change_password_hash(command.new_password_hash)
        if changed or command.new_password_hash is not None:
            await users.save(user)
        return Ok(await _issue_pair(deps, user, SessionFamilyId.new(), now))


class RotateRefreshTokenHandler(CommandHandler[RotateRefreshToken, TokenPair]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: RotateRefreshToken) -> Result[TokenPair, AnyAppError]:
        deps = self._dependencies
        verified = deps.tokens().verify_refresh(command.refresh_token)
        if isinstance(verified, Err):
            return verified
        unit = current_unit_of_work()
        sessions = deps.storage.sessions(unit)
        now = deps.clock()
        session = await _session_of(sessions, verified.value)
        if session is None:
            return Err(RefreshRevokedError(_ENDED))
        verdict = session.verdict(now)
        if verdict is RefreshVerdict.USABLE:
            session.consume(now)
            if not await sessions.mark_used(session):
                verdict = RefreshVerdict.REUSED  # a concurrent refresh used it first
        if verdict is RefreshVerdict.REUSED:
            await sessions.revoke_family(session.family, now)
            return Err(RefreshReusedError("this refresh token was already used; every session of it is revoked"))
        if verdict is not RefreshVerdict.USABLE:
            return Err(RefreshRevokedError(_ENDED))
        user = await deps.storage.users(unit).get(session.user_id, tenant=session.tenant)
        if user is None or not user.active:
            await sessions.revoke_family(session.family, now)
            return Err(RefreshRevokedError(_ENDED))
        return Ok(await _issue_pair(deps, user, session.family, now))


class LogoutHandler(CommandHandler[Logout, None]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: Logout) -> Result[None, AnyAppError]:
        deps = self._dependencies
        verified = deps.tokens().verify_refresh(command.refresh_token)
        if isinstance(verified, Err):
            return verified
        sessions = deps.storage.sessions(current_unit_of_work())
        session = await _session_of(sessions, verified.value)
        if session is not None:
            await sessions.revoke_family(session.family, deps.clock())
        return Ok(None)
