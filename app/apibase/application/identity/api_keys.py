"""API keys: long-lived credentials a user makes for their own machines, and authenticating requests by them."""

from __future__ import annotations

from abc import abstractmethod

from apibase.application.cqrs.handlers import CommandHandler, QueryHandler
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.application.identity.access import parse_id
from apibase.application.identity.commands import AuthenticateApiKey, CreateApiKey, RevokeApiKey, RotateApiKey
from apibase.application.identity.dependencies import IdentityDependencies
from apibase.application.identity.dto import ApiKeyView, IssuedApiKey
from apibase.application.identity.errors import (
    ApiKeyNotFoundError,
    ApiKeyRevokedError,
    InvalidApiKeyError,
    UserNotFoundError,
)
from apibase.application.identity.ports import ApiKeyRepository
from apibase.application.identity.principals import build_principal
from apibase.application.identity.queries import ListApiKeys
from apibase.application.identity.validation import FieldChecks
from apibase.core.errors import AnyAppError
from apibase.core.principal import AuthMethod, Principal
from apibase.core.result import Err, Ok, Result
from apibase.domain.identity.api_key import LAST_USED_RESOLUTION, ApiKey, ApiKeyId, prefix_of
from apibase.domain.identity.user import UserId

__all__ = [
    "AuthenticateApiKeyHandler",
    "CreateApiKeyHandler",
    "ListApiKeysHandler",
    "OwnKeyHandler",
    "RevokeApiKeyHandler",
    "RotateApiKeyHandler",
]


class CreateApiKeyHandler(CommandHandler[CreateApiKey, IssuedApiKey]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: CreateApiKey) -> Result[IssuedApiKey, AnyAppError]:
        checks = FieldChecks()
        name = checks.api_key_name(command.name)
        lifetime_ok = checks.lifetime(command.expires_in)
        if name is None or not lifetime_ok:
            return checks.failure()
        actor, deps = command.actor, self._dependencies
        user_id = parse_id(UserId, actor.subject)
        if user_id is None:
            return Err(UserNotFoundError("the caller is not a user of this service"))
        unit = current_unit_of_work()
        user = await deps.storage.users(unit).get(user_id, tenant=actor.tenant)
        if user is None or not user.active:
            return Err(UserNotFoundError(f"user {user_id} does not exist"))
        key, secret = ApiKey.issue(
            user_id=user.id, tenant=user.tenant, name=name, now=deps.clock(), expires_in=command.expires_in
        )
        await deps.storage.api_keys(unit).add(key)
        return Ok(IssuedApiKey(key=ApiKeyView.from_key(key), secret=secret))


class ListApiKeysHandler(QueryHandler[ListApiKeys, list[ApiKeyView]]):
    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, query: ListApiKeys) -> Result[list[ApiKeyView], AnyAppError]:
        user_id = parse_id(UserId, query.actor.subject)
        if user_id is None:
            return Ok([])
        keys = await self._dependencies.storage.api_keys(current_unit_of_work()).list_for_user(
            user_id, tenant=query.actor.tenant
        )
        return Ok([ApiKeyView.from_key(key) for key in keys])


class OwnKeyHandler[C: RevokeApiKey | RotateApiKey, R](CommandHandler[C, R]):
    """The shared flow: only the actor's own key is found; another user's key is answered as unknown."""

    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: C) -> Result[R, AnyAppError]:
        wanted, owner = parse_id(ApiKeyId, command.key_id), parse_id(UserId, command.actor.subject)
        keys = self._dependencies.storage.api_keys(current_unit_of_work())
        key = None
        if wanted is not None and owner is not None:
            key = await keys.get(wanted, user_id=owner, tenant=command.actor.tenant)
        if key is None:
            return Err(ApiKeyNotFoundError(f"API key {command.key_id} does not exist"))
        return await self.change(keys, key)

    @abstractmethod
    async def change(self, keys: ApiKeyRepository, key: ApiKey) -> Result[R, AnyAppError]:
        """Change the found key (and store what changed in ``keys``)."""


class RevokeApiKeyHandler(OwnKeyHandler[RevokeApiKey, ApiKeyView]):
    async def change(self, keys: ApiKeyRepository, key: ApiKey) -> Result[ApiKeyView, AnyAppError]:
        if key.revoked_at is None:
            key.revoke(self._dependencies.clock())
            await keys.save(key)
        return Ok(ApiKeyView.from_key(key))


class RotateApiKeyHandler(OwnKeyHandler[RotateApiKey, IssuedApiKey]):
    async def change(self, keys: ApiKeyRepository, old: ApiKey) -> Result[IssuedApiKey, AnyAppError]:
        now = self._dependencies.clock()
        if not old.is_valid(now):
            return Err(ApiKeyRevokedError(f"API key {old.id} is revoked or expired; create a new one"))
        lifetime = None if old.expires_at is None else old.expires_at - old.created_at
        new, secret = ApiKey.issue(user_id=old.user_id, tenant=old.tenant, name=old.name, now=now, expires_in=lifetime)
        old.expire_by(now + self._dependencies.rules.api_key_grace)
        await keys.save(old)
        await keys.add(new)
        return Ok(IssuedApiKey(key=ApiKeyView.from_key(new), secret=secret))


class AuthenticateApiKeyHandler(CommandHandler[AuthenticateApiKey, Principal]):
    """``last_used_at`` is written at most once a minute, so authenticating a request rarely costs a write."""

    def __init__(self, dependencies: IdentityDependencies) -> None:
        self._dependencies = dependencies

    async def handle(self, command: AuthenticateApiKey) -> Result[Principal, AnyAppError]:
        secret, deps = command.secret, self._dependencies
        refused = InvalidApiKeyError("the API key is invalid, revoked or expired")
        prefix = prefix_of(secret)
        if prefix is None:
            return Err(refused)
        unit = current_unit_of_work()
        keys, now = deps.storage.api_keys(unit), deps.clock()
        key = await keys.get_by_prefix(prefix)
        if key is None or not key.matches(secret) or not key.is_valid(now):
            return Err(refused)
        user = await deps.storage.users(unit).get(key.user_id, tenant=key.tenant)
        if user is None or not user.active:
            return Err(refused)
        if key.use_is_worth_recording(now):
            await keys.record_use(key.id, now, not_after=now - LAST_USED_RESOLUTION)
        return Ok(build_principal(str(user.id), user.tenant, user.roles, AuthMethod.API_KEY, policy=deps.roles))
