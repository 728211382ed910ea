from __future__ import annotations

import pytest

from apibase.application.cqrs.handlers import CommandHandler, QueryHandler
from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.core.errors import AnyAppError, NotFoundError
from apibase.core.result import Err, Ok, Result

pytestmark = pytest.mark.unit


class Ping(BaseCommand[str]):
    pass


class FindUser(BaseQuery[str]):
    user_id: int


class PingHandler(CommandHandler[Ping, str]):
    async def handle(self, command: Ping) -> Result[str, AnyAppError]:
        return Ok(f"pong {command.command_id}")


class FindUserHandler(QueryHandler[FindUser, str]):
    async def handle(self, query: FindUser) -> Result[str, AnyAppError]:
        return Err(NotFoundError(f"user {query.user_id} not found"))


def test_handler_bases_are_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        CommandHandler()  # type: ignore[abstract]
    with pytest.raises(TypeError, match="abstract"):
        QueryHandler()  # type: ignore[abstract]


async def test_a_command_handler_returns_a_result() -> None:
    command = Ping()

    assert await PingHandler().handle(command) == Ok(f"pong {command.command_id}")


async def test_a_query_handler_returns_expected_failures_as_err() -> None:
    assert await FindUserHandler().handle(FindUser(user_id=7)) == Err(NotFoundError("user 7 not found"))
