"""The identity queries: reads of users and API keys on the kernel's query bus."""

from __future__ import annotations

from apibase.application.cqrs.messages import BaseQuery
from apibase.application.identity.dto import ApiKeyView, UserView
from apibase.core.principal import Principal
from apibase.domain.identity.user import User

__all__ = ["FindLoginUser", "GetCurrentUser", "ListApiKeys", "ListUsers"]


class GetCurrentUser(BaseQuery[UserView]):
    actor: Principal


class ListUsers(BaseQuery[list[UserView]]):
    """The users of the actor's tenant; needs ``users:manage``."""

    actor: Principal


class ListApiKeys(BaseQuery[list[ApiKeyView]]):
    """The actor's own keys, newest first."""

    actor: Principal


class FindLoginUser(BaseQuery[User | None]):
    """The active user a login names, or None, also for input that cannot name a user at all.

    Answers the entity, password hash included: only ``PasswordLogin`` asks, to verify a password.
    """

    email: str
    tenant: str
