"""Registering the identity handlers on the buses the kernel built, and the login process over them."""

from __future__ import annotations

from apibase.application.cqrs.bus import CommandBus, QueryBus
from apibase.application.identity.api_keys import (
    AuthenticateApiKeyHandler,
    CreateApiKeyHandler,
    ListApiKeysHandler,
    RevokeApiKeyHandler,
    RotateApiKeyHandler,
)
from apibase.application.identity.dependencies import IdentityDependencies
from apibase.application.identity.login import PasswordLogin
from apibase.application.identity.sessions import (
    FindLoginUserHandler,
    LogoutHandler,
    OpenSessionHandler,
    RecordFailedLoginHandler,
    RotateRefreshTokenHandler,
)
from apibase.application.identity.users import (
    AddUserHandler,
    GetCurrentUserHandler,
    ListUsersHandler,
    RegisterTenantHandler,
    SetRolesHandler,
)

__all__ = ["register_identity_handlers"]


def register_identity_handlers(
    commands: CommandBus, queries: QueryBus, dependencies: IdentityDependencies
) -> PasswordLogin:
    """Every identity command and query gets its handler; the answer is the login process, which sends them.

    The command bus must run a ``ConflictRetryBehaviour`` outside a ``TransactionBehaviour`` (as the kernel's does):
    a lost race on a user is run again, and a counted failure is kept.
    """
    commands.register(RegisterTenantHandler(dependencies))
    commands.register(AddUserHandler(dependencies))
    commands.register(SetRolesHandler(dependencies))
    commands.register(RecordFailedLoginHandler(dependencies))
    commands.register(OpenSessionHandler(dependencies))
    commands.register(RotateRefreshTokenHandler(dependencies))
    commands.register(LogoutHandler(dependencies))
    commands.register(CreateApiKeyHandler(dependencies))
    commands.register(RevokeApiKeyHandler(dependencies))
    commands.register(RotateApiKeyHandler(dependencies))
    commands.register(AuthenticateApiKeyHandler(dependencies))
    queries.register(GetCurrentUserHandler(dependencies))
    queries.register(ListUsersHandler(dependencies))
    queries.register(ListApiKeysHandler(dependencies))
    queries.register(FindLoginUserHandler(dependencies))
    return PasswordLogin(commands, queries, dependencies)
