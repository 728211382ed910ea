"""Handler base classes: one use case each, every outcome a Result.

Subclassing ``CommandHandler[CreateOrder, OrderId]`` is also the registration contract: the bus reads the
message type from that generic base, so no table maps messages to handlers by hand.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.core.errors import AnyAppError
from apibase.core.result import Result

__all__ = ["CommandHandler", "QueryHandler"]


class CommandHandler[TCommand: BaseCommand[object], TResult](ABC):
    """Changes state for one command type; runs inside the command pipeline (transaction included)."""

    @abstractmethod
    async def handle(self, command: TCommand) -> Result[TResult, AnyAppError]:
        """Expected failures come back as ``Err``; exceptions are for bugs and infrastructure faults."""


class QueryHandler[TQuery: BaseQuery[object], TResult](ABC):
    """Reads state for one query type; must not change anything, so its results may be cached."""

    @abstractmethod
    async def handle(self, query: TQuery) -> Result[TResult, AnyAppError]:
        """Expected failures come back as ``Err``; they are never cached."""
