"""The command and query buses: the one door from the interface layer into the use cases.

Callers send a message and get a typed Result; which handler runs, and which behaviours wrap it, is
decided once at the composition root. Handlers are registered from their own declarations (a handler
class's generic base or a coroutine function's annotation), never from a hand-written table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Never, cast

from apibase.application.cqrs.behaviours import ConflictRetryBehaviour, TransactionBehaviour
from apibase.application.cqrs.handlers import CommandHandler, QueryHandler
from apibase.application.cqrs.messages import BaseCommand, BaseQuery, Message
from apibase.application.cqrs.pipeline import Behaviour, Pipeline
from apibase.application.cqrs.registry import (
    HandlerFunction,
    HandlerRegistry,
    message_type_of_function,
    message_type_of_handler,
)
from apibase.application.ports.events import EventPublisher
from apibase.application.ports.outbox import Outbox
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import AnyAppError
from apibase.core.result import Result

__all__ = ["CommandBus", "QueryBus", "transactional_buses"]


class _MessageBus[M: Message]:
    """What both buses share: a registry for routing and a pipeline to run handlers in."""

    def __init__(self, message_base: type[M], handler_base: type, behaviours: Iterable[Behaviour[M]]) -> None:
        self._registry = HandlerRegistry(message_base)
        self._handler_base = handler_base
        self._pipeline = Pipeline(behaviours)

    @property
    def behaviours(self) -> tuple[Behaviour[M], ...]:
        return self._pipeline.behaviours

    def handles(self, message_type: type[M]) -> bool:
        return message_type in self._registry

    def message_types(self) -> frozenset[type[M]]:
        return self._registry.message_types()

    def _add_handler_object(self, handler: object, handle: HandlerFunction[Never, object]) -> None:
        self._registry.add(message_type_of_handler(handler, self._handler_base), handle)

    def _add_handler_function(self, fn: HandlerFunction[Never, object]) -> None:
        self._registry.add(message_type_of_function(fn), fn)

    async def _route(self, message: M) -> Result[object, AnyAppError]:
        return await self._pipeline.run(message, self._registry.get(type(message)))


class CommandBus(_MessageBus[BaseCommand[object]]):
    """Sends each command to its one handler, through the command behaviours (transaction included)."""

    def __init__(self, behaviours: Iterable[Behaviour[BaseCommand[object]]] = ()) -> None:
        super().__init__(BaseCommand, CommandHandler, behaviours)

    def register[C: BaseCommand[object], R](self, handler: CommandHandler[C, R]) -> CommandHandler[C, R]:
        """Register a handler object; its command type comes from ``CommandHandler[Command, Result]``."""
        self._add_handler_object(handler, handler.handle)
        return handler

    def handler[C: BaseCommand[object], R](self, fn: HandlerFunction[C, R]) -> HandlerFunction[C, R]:
        """Decorator: register ``async def f(command: Command) -> Result[...]`` by its annotation."""
        self._add_handler_function(fn)
        return fn

    async def dispatch[R](self, command: BaseCommand[R]) -> Result[R, AnyAppError]:
        """Run the command's handler, the command stamped with the caller and correlation id of the context.

        Raises ``HandlerNotFoundError`` when none is registered.
        """
        result = await self._route(command.with_context())
        # The registry only pairs a command type with a handler declared for it, so R is what it returns.
        return cast("Result[R, AnyAppError]", result)


class QueryBus(_MessageBus[BaseQuery[object]]):
    """Sends each query to its one handler, through the query behaviours."""

    def __init__(self, behaviours: Iterable[Behaviour[BaseQuery[object]]] = ()) -> None:
        super().__init__(BaseQuery, QueryHandler, behaviours)

    def register[Q: BaseQuery[object], R](self, handler: QueryHandler[Q, R]) -> QueryHandler[Q, R]:
        """Register a handler object; its query type comes from ``QueryHandler[Query, Result]``."""
        self._add_handler_object(handler, handler.handle)
        return handler

    def handler[Q: BaseQuery[object], R](self, fn: HandlerFunction[Q, R]) -> HandlerFunction[Q, R]:
        """Decorator: register ``async def f(query: Query) -> Result[...]`` by its annotation."""
        self._add_handler_function(fn)
        return fn

    async def ask[R](self, query: BaseQuery[R]) -> Result[R, AnyAppError]:
        """Run the query's handler; raises ``HandlerNotFoundError`` when none is registered."""
        result = await self._route(query)
        # The registry only pairs a query type with a handler declared for it, so R is what it returns.
        return cast("Result[R, AnyAppError]", result)


def transactional_buses(
    unit_of_work: Callable[[], UnitOfWork],
    publisher: EventPublisher | None = None,
    *,
    outer: Sequence[Behaviour[Message]] = (),
    outbox: Outbox | None = None,
) -> tuple[CommandBus, QueryBus]:
    """The buses use cases run on: the ``outer`` behaviours (tracing, logging) first, then, for commands, a lost
    version race run again, and the unit of work of each message innermost (events stored in ``outbox`` before
    its commit, handed to ``publisher`` after it).

    The kernel builds its buses here, and so can a test, so both run handlers the same way.
    """
    transaction = TransactionBehaviour(unit_of_work, publisher, outbox=outbox)
    commands = CommandBus([*outer, ConflictRetryBehaviour(), transaction])
    return commands, QueryBus([*outer, TransactionBehaviour(unit_of_work)])
