"""CQRS: commands and queries sent through typed buses to one handler each, inside a behaviour pipeline.

The interface layer only builds messages and sends them; everything a use case needs around its handler
(logging, tracing, the unit of work) is a behaviour chosen once at the composition root.
"""

from __future__ import annotations

from apibase.application.cqrs.behaviours import ConflictRetryBehaviour, LoggingBehaviour, TransactionBehaviour
from apibase.application.cqrs.bus import CommandBus, QueryBus, transactional_buses
from apibase.application.cqrs.handlers import CommandHandler, QueryHandler
from apibase.application.cqrs.messages import BaseCommand, BaseQuery, Message
from apibase.application.cqrs.pipeline import Behaviour, Next, Pipeline
from apibase.application.cqrs.registry import (
    DuplicateHandlerError,
    HandlerFunction,
    HandlerNotFoundError,
    HandlerRegistry,
    HandlerRegistryError,
    HandlerTypeError,
    message_type_of_function,
    message_type_of_handler,
)
from apibase.application.cqrs.unit_of_work import NoUnitOfWorkError, bind_unit_of_work, current_unit_of_work

__all__ = [
    "BaseCommand",
    "BaseQuery",
    "Behaviour",
    "CommandBus",
    "CommandHandler",
    "ConflictRetryBehaviour",
    "DuplicateHandlerError",
    "HandlerFunction",
    "HandlerNotFoundError",
    "HandlerRegistry",
    "HandlerRegistryError",
    "HandlerTypeError",
    "LoggingBehaviour",
    "Message",
    "Next",
    "NoUnitOfWorkError",
    "Pipeline",
    "QueryBus",
    "QueryHandler",
    "TransactionBehaviour",
    "bind_unit_of_work",
    "current_unit_of_work",
    "message_type_of_function",
    "message_type_of_handler",
    "transactional_buses",
]
