"""The identity handlers on buses of their own, configured like the kernel's, over any unit of work and storage.

For tests of identity (or of a service's code around it) without an application: send its commands, ask its
queries, log in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apibase.application.cqrs.bus import CommandBus, QueryBus, transactional_buses
from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.application.identity.dependencies import IdentityDependencies
from apibase.application.identity.login import PasswordLogin
from apibase.application.identity.registration import register_identity_handlers
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import AnyAppError
from apibase.core.result import Result

__all__ = ["IdentityOnBuses", "identity_on_buses"]


@dataclass(frozen=True)
class IdentityOnBuses:
    commands: CommandBus
    queries: QueryBus
    login: PasswordLogin

    async def send[R](self, command: BaseCommand[R]) -> Result[R, AnyAppError]:
        return await self.commands.dispatch(command)

    async def ask[R](self, query: BaseQuery[R]) -> Result[R, AnyAppError]:
        return await self.queries.ask(query)


def identity_on_buses(unit_of_work: Callable[[], UnitOfWork], dependencies: IdentityDependencies) -> IdentityOnBuses:
    commands, queries = transactional_buses(unit_of_work)
    return IdentityOnBuses(commands, queries, register_identity_handlers(commands, queries, dependencies))
