"""The identity endpoints: sign-up, login, token refresh and logout, users and roles, API keys.

The tenant of an anonymous call (sign-up, login) is the one the authentication middleware resolved from the
tenant header (or the default tenant); every other call acts for the caller's own tenant. Bodies are bounded
here, their contents are checked by the handlers, so a sender of the same commands gets the same rules.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint annotations declared inside the factory.
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field

from apibase.application.cqrs.bus import CommandBus, QueryBus
from apibase.application.identity.commands import (
    AddUser,
    CreateApiKey,
    Logout,
    RegisterTenant,
    RevokeApiKey,
    RotateApiKey,
    RotateRefreshToken,
    SetRoles,
)
from apibase.application.identity.dto import ApiKeyView, IssuedApiKey, TokenPair, UserView
from apibase.application.identity.login import PasswordLogin
from apibase.application.identity.queries import GetCurrentUser, ListApiKeys, ListUsers
from apibase.application.pagination import ApiResponse
from apibase.core.errors import AnyAppError
from apibase.core.principal import Principal
from apibase.core.result import Err, Result
from apibase.core.types import json_integer
from apibase.domain.identity.permissions import USERS_MANAGE
from apibase.domain.identity.roles import ROLE_NAME_PATTERN
from apibase.domain.identity.user import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from apibase.interface.http.openapi import problem_responses
from apibase.interface.http.responses import response_meta, unwrap
from apibase.interface.http.security.authorization import current_principal, require
from apibase.interface.http.security.tenant import DEFAULT_TENANT_HEADER, requested_tenant

__all__ = ["LoginObserver", "identity_router"]

logger = logging.getLogger(__name__)

MAX_EMAIL = 320
MAX_TOKEN = 8192
ID_PATTERN = r"^[0-9a-fA-F-]{32,36}$"
#: A bound on the body only: which role names exist is the role policy's to say (the service checks, 422).
MAX_ROLES = 16
RoleName = Annotated[str, Field(pattern=ROLE_NAME_PATTERN, examples=["viewer"])]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(_Body):
    email: str = Field(min_length=3, max_length=MAX_EMAIL, examples=["ada@example.com"])
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class Registration(_Body):
    """The schema states the password policy the service enforces (12-128 characters)."""

    email: EmailStr = Field(max_length=MAX_EMAIL, examples=["ada@example.com"])
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class RefreshRequest(_Body):
    refresh_token: str = Field(min_length=1, max_length=MAX_TOKEN)


class NewApiKey(_Body):
    name: str = Field(min_length=1, max_length=100)
    # The bounds before the JSON-integer check: on an optional field pydantic would otherwise publish them as
    # "ge"/"le" instead of minimum/maximum.
    expires_in_days: Annotated[int, Field(ge=1, le=3650), BeforeValidator(json_integer)] | None = None


type LoginObserver = Callable[[Result[TokenPair, AnyAppError]], None]
"""Sees every login outcome (metrics count refusals by code); it must not raise."""


def identity_router(
    commands: CommandBus,
    queries: QueryBus,
    password_login: PasswordLogin,
    *,
    on_login: LoginObserver | None = None,
    tenant_header: str = DEFAULT_TENANT_HEADER,
    roles: Sequence[str] = (),
) -> APIRouter:
    """``tenant_header``: the configured tenant header, declared on the anonymous calls (sign-up, login);
    ``roles``: the role policy's assignable roles, listed as the ``enum`` of every role in the schema so clients
    (and fuzzers) know the valid names; the use cases still check them against the policy."""
    router = APIRouter(prefix="/auth", tags=["identity"])
    listed = {"enum": list(roles)} if roles else None

    class NewUser(Registration):
        roles: list[Annotated[RoleName, Field(json_schema_extra=listed)]] | None = Field(
            default=None, max_length=MAX_ROLES, description="Left out: the role policy's default roles"
        )

    class RoleAssignment(_Body):
        roles: list[Annotated[RoleName, Field(json_schema_extra=listed)]] = Field(max_length=MAX_ROLES)

    Tenant = Annotated[str, Depends(requested_tenant(tenant_header))]  # noqa: N806
    Caller = Annotated[Principal, Depends(current_principal)]  # noqa: N806
    UserPath = Annotated[str, Path(pattern=ID_PATTERN, description="The user's id")]  # noqa: N806
    KeyPath = Annotated[str, Path(pattern=ID_PATTERN, description="The API key's id")]  # noqa: N806
    manage_users = [require(USERS_MANAGE)]

    @router.post(
        "/register",
        status_code=status.HTTP_201_CREATED,
        summary="Create a tenant and its first admin",
        responses=problem_responses({403: "The tenant already exists: its admin adds users"}),
    )
    async def register(body: Registration, tenant: Tenant) -> ApiResponse[UserView]:
        user = unwrap(await commands.dispatch(RegisterTenant(email=body.email, password=body.password, tenant=tenant)))
        return ApiResponse(data=user, meta=response_meta())

    @router.post(
        "/login",
        summary="Exchange email and password for an access and a refresh token",
        responses=problem_responses({401: "Wrong email or password, or the account is locked for a while"}),
    )
    async def login(body: Credentials, tenant: Tenant) -> ApiResponse[TokenPair]:
        outcome = await password_login(body.email, body.password, tenant)
        if on_login is not None:
            on_login(outcome)
        if isinstance(outcome, Err):  # a security event; the log pipeline masks the address
            logger.warning("login refused for %s in tenant %s: %s", body.email, tenant, outcome.error.code)
        return ApiResponse(data=unwrap(outcome), meta=response_meta())

    @router.post(
        "/refresh",
        summary="Rotate a refresh token (a reused one revokes its whole family)",
        responses=problem_responses({401: "The refresh token is invalid, expired, revoked or reused"}),
    )
    async def refresh(body: RefreshRequest) -> ApiResponse[TokenPair]:
        pair = unwrap(await commands.dispatch(RotateRefreshToken(refresh_token=body.refresh_token)))
        return ApiResponse(data=pair, meta=response_meta())

    @router.post(
        "/logout",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Revoke a refresh token's family",
        responses=problem_responses({401: "The refresh token is invalid"}),
    )
    async def logout(body: RefreshRequest) -> Response:
        unwrap(await commands.dispatch(Logout(refresh_token=body.refresh_token)))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/me", summary="The calling user")
    async def me(caller: Caller) -> ApiResponse[UserView]:
        return ApiResponse(data=unwrap(await queries.ask(GetCurrentUser(actor=caller))), meta=response_meta())

    @router.get("/users", summary="The users of the caller's tenant", dependencies=manage_users)
    async def list_users(caller: Caller) -> ApiResponse[list[UserView]]:
        return ApiResponse(data=unwrap(await queries.ask(ListUsers(actor=caller))), meta=response_meta())

    @router.post(
        "/users",
        status_code=status.HTTP_201_CREATED,
        summary="Add a user to the tenant",
        dependencies=manage_users,
        responses=problem_responses({409: "The email is taken"}),
    )
    async def add_user(body: NewUser, caller: Caller) -> ApiResponse[UserView]:
        roles = None if body.roles is None else tuple(body.roles)
        command = AddUser(actor=caller, email=body.email, password=body.password, roles=roles)
        return ApiResponse(data=unwrap(await commands.dispatch(command)), meta=response_meta())

    @router.put(
        "/users/{user_id}/roles",
        summary="Replace a user's roles",
        dependencies=manage_users,
        responses=problem_responses({409: "An admin cannot remove their own admin role"}),
    )
    async def set_roles(user_id: UserPath, body: RoleAssignment, caller: Caller) -> ApiResponse[UserView]:
        command = SetRoles(actor=caller, target=user_id, roles=tuple(body.roles))
        return ApiResponse(data=unwrap(await commands.dispatch(command)), meta=response_meta())

    @router.get("/api-keys", summary="The caller's API keys (secrets are never shown again)")
    async def list_keys(caller: Caller) -> ApiResponse[list[ApiKeyView]]:
        return ApiResponse(data=unwrap(await queries.ask(ListApiKeys(actor=caller))), meta=response_meta())

    @router.post("/api-keys", status_code=status.HTTP_201_CREATED, summary="Create an API key for the caller")
    async def create_key(body: NewApiKey, caller: Caller) -> ApiResponse[IssuedApiKey]:
        lifetime = timedelta(days=body.expires_in_days) if body.expires_in_days is not None else None
        issued = unwrap(await commands.dispatch(CreateApiKey(actor=caller, name=body.name, expires_in=lifetime)))
        return ApiResponse(data=issued, meta=response_meta())

    @router.post(
        "/api-keys/{key_id}/rotate",
        summary="Replace a key; the old one works for the grace period",
        responses=problem_responses({409: "The key is revoked or expired: create a new one"}),
    )
    async def rotate_key(key_id: KeyPath, caller: Caller) -> ApiResponse[IssuedApiKey]:
        issued = unwrap(await commands.dispatch(RotateApiKey(actor=caller, key_id=key_id)))
        return ApiResponse(data=issued, meta=response_meta())

    @router.delete("/api-keys/{key_id}", summary="Revoke one of the caller's API keys")
    async def revoke_key(key_id: KeyPath, caller: Caller) -> ApiResponse[ApiKeyView]:
        return ApiResponse(
            data=unwrap(await commands.dispatch(RevokeApiKey(actor=caller, key_id=key_id))), meta=response_meta()
        )

    return router
