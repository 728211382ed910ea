"""CQRS: commands and queries sent through typed buses to one handler each, inside a behaviour pipeline.

The interface layer only builds messages and sends them; everything a use case needs around its handler
(logging, tracing, the unit of work) is a behaviour chosen once at the composition root.
"""

from __future__ import annotations

from app.application.cqrs.behaviours import LoggingBehaviour, TransactionBehaviour
from app.application.cqrs.bus import CommandBus, QueryBus
from app.application.cqrs.handlers import CommandHandler, QueryHandler
from app.application.cqrs.messages import BaseCommand, BaseQuery, Message
from app.application.cqrs.pipeline import Behaviour, Next, Pipeline
from app.application.cqrs.registry import (
    DuplicateHandlerError,
    HandlerFunction,
    HandlerNotFoundError,
    HandlerRegistry,
    HandlerRegistryError,
    HandlerTypeError,
    message_type_of_function,
    message_type_of_handler,
)
from app.application.cqrs.unit_of_work import NoUnitOfWorkError, bind_unit_of_work, current_unit_of_work

__all__ = [
    "BaseCommand",
    "BaseQuery",
    "Behaviour",
    "CommandBus",
    "CommandHandler",
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
]
