"""Users and roles: sign-up, adding users, changing roles, and reading them.

Input is checked and passwords are hashed before the first repository call: a unit of work connects on its first
query, so the tens of milliseconds of hashing never hold a connection or a transaction open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from apibase.application.cqrs.handlers import CommandHandler, QueryHandler
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.application.identity.access import parse_id, require
from apibase.application.identity.commands import AddUser, RegisterTenant, SetRoles
from apibase.application.identity.dependencies import IdentityDependencies
from apibase.application.identity.dto import UserView
from apibase.application.identity.errors import SelfDemotionError, TenantClosedError, UserNotFoundError
from apibase.application.identity.queries import GetCurrentUser, ListUsers
from apibase.application.identity.validation import FieldChecks
from apibase.core.errors import AnyAppError
from apibase.core.result import Err, Ok, Result
from apibase.domain.identity.permissions import USERS_MANAGE
from apibase.domain.identity.user import User, UserId

__all__ = [
    "AddUserHandler",
    "GetCurrentUserHandler",
    "ListUsersHandler",
    "RegisterTenantHandler",
    "SetRolesHandler",
]


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


class RegisterTenantHandler(CommandHandler[RegisterTenant, UserView]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: RegisterTenant) -> Result[UserView, AnyAppError]:
        checks = FieldChecks()
        email, tenant = checks.email(command.email), checks.tenant(command.tenant)
        password = checks.password(command.password)
        if email is None or tenant is None or password is None:
            return checks.failure()
        deps = self._dependencies
        password_hash = await deps.hasher.hash(password)
        now = deps.clock()
        users = deps.storage.users(current_unit_of_work())
        if await users.tenant_has_users(tenant) or not await users.claim_tenant(tenant, now):
            return Err(TenantClosedError(f"tenant {tenant} already exists; ask its admin for an account"))
        user = _new_user(tenant, email, password_hash, (deps.roles.superuser,), now)
        await users.add(user)
        return Ok(UserView.from_user(user))


class AddUserHandler(CommandHandler[AddUser, UserView]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: AddUser) -> Result[UserView, AnyAppError]:
        if isinstance(denied := require(command.actor, USERS_MANAGE), Err):
            return denied
        deps = self._dependencies
        checks = FieldChecks()
        email, password = checks.email(command.email), checks.password(command.password)
        roles = checks.roles(deps.roles.default_roles if command.roles is None else command.roles, deps.roles)
        if email is None or password is None or roles is None:
            return checks.failure()
        password_hash = await deps.hasher.hash(password)
        user = _new_user(command.actor.tenant, email, password_hash, roles, deps.clock())
        await deps.storage.users(current_unit_of_work()).add(user)
        return Ok(UserView.from_user(user))


class SetRolesHandler(CommandHandler[SetRoles, UserView]):
    """Version-guarded: a lost race is run again from a fresh read by the bus (``SetRoles.conflict_attempts``)."""

    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: SetRoles) -> Result[UserView, AnyAppError]:
        actor, policy = command.actor, self._dependencies.roles
        if isinstance(denied := require(actor, USERS_MANAGE), Err):
            return denied
        checks = FieldChecks()
        roles = checks.roles(command.roles, policy)
        if roles is None:
            return checks.failure()
        target = parse_id(UserId, command.target)
        users = self._dependencies.storage.users(current_unit_of_work())
        user = None if target is None else await users.get(target, tenant=actor.tenant)
        if user is None:
            return Err(UserNotFoundError(f"user {command.target} does not exist"))
        superuser = policy.superuser
        if str(user.id) == actor.subject and user.has_role(superuser) and superuser not in roles:
            return Err(SelfDemotionError(f"an admin cannot remove their own {superuser} role; another admin can"))
        user.assign_roles(roles)
        await users.save(user)
        return Ok(UserView.from_user(user))


class GetCurrentUserHandler(QueryHandler[GetCurrentUser, UserView]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, query: GetCurrentUser) -> Result[UserView, AnyAppError]:
        user_id = parse_id(UserId, query.actor.subject)
        if user_id is None:
            return Err(UserNotFoundError("the caller is not a user of this service"))
        user = await self._dependencies.storage.users(current_unit_of_work()).get(user_id, tenant=query.actor.tenant)
        if user is None:
            return Err(UserNotFoundError(f"user {user_id} does not exist"))
        return Ok(UserView.from_user(user))


class ListUsersHandler(QueryHandler[ListUsers, list[UserView]]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, query: ListUsers) -> Result[list[UserView], AnyAppError]:
        if isinstance(denied := require(query.actor, USERS_MANAGE), Err):
            return denied
        users = await self._dependencies.storage.users(current_unit_of_work()).list_in_tenant(query.actor.tenant)
        return Ok([UserView.from_user(user) for user in users])
