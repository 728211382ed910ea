"""The standard behaviours: logging, validation, transactions (commands) and caching (queries).

Each is a small class with a generic ``__call__`` matching ``pipeline.Behaviour``. List them outermost
first, e.g. ``CommandBus([LoggingBehaviour(), validation, TransactionBehaviour(uow)])``, so that the log
covers validation and a message that fails validation never opens a transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import cast

from apibase.application.cqrs.messages import BaseCommand, BaseQuery, Message
from apibase.application.cqrs.pipeline import Next
from apibase.application.ports.events import EventPublisher
from apibase.application.ports.store import Store
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import AnyAppError
from apibase.core.result import Err, Ok, Result
from apibase.core.types import Validator

__all__ = ["CachingBehaviour", "LoggingBehaviour", "TransactionBehaviour", "ValidationBehaviour"]

_logger = logging.getLogger(__name__)


class LoggingBehaviour:
    """Logs each message's start, end, duration and outcome, by type and ids only (values may be secrets).

    Exceptions are logged by type name and re-raised: their text may echo input, and the boundary that
    catches them logs the traceback.
    """

    def __init__(self, logger: logging.Logger | None = None, *, level: int = logging.INFO) -> None:
        self._logger = logger or _logger
        self._level = level

    async def __call__[R](self, message: Message, call_next: Next[R]) -> Result[R, AnyAppError]:
        context = message.log_context()
        name = type(message).__name__
        self._logger.log(self._level, "%s started", name, extra=context)
        started = time.perf_counter()
        try:
            result = await call_next()
        except Exception as exc:
            elapsed = _milliseconds_since(started)
            exc_type = type(exc).__name__
            self._logger.error(  # noqa: TRY400 - no traceback on purpose, see the class docstring
                "%s raised %s after %.2f ms",
                name,
                exc_type,
                elapsed,
                extra={**context, "duration_ms": elapsed, "outcome": "exception", "error": exc_type},
            )
            raise
        elapsed = _milliseconds_since(started)
        if isinstance(result, Ok):
            self._logger.log(
                self._level,
                "%s succeeded in %.2f ms: ok",
                name,
                elapsed,
                extra={**context, "duration_ms": elapsed, "outcome": "ok"},
            )
        else:
            code = result.error.code.value
            self._logger.log(
                self._level,
                "%s failed in %.2f ms: err %s",
                name,
                elapsed,
                code,
                extra={**context, "duration_ms": elapsed, "outcome": "err", "error_code": code},
            )
        return result


def _milliseconds_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class ValidationBehaviour:
    """Runs the validators declared for a message's type (or its bases) before its handler.

    Validators run in registration order and the first ``Err`` is returned without calling the handler.
    They check what the message's own pydantic validation cannot (cross-field rules, policy); the ``Ok``
    value is not passed on, since messages are immutable and normalising belongs in the message class.
    """

    def __init__(self) -> None:
        self._validators: list[tuple[type[Message], Validator[Message]]] = []

    def validates[M: Message](self, message_type: type[M]) -> Callable[[Validator[M]], Validator[M]]:
        """Decorator for ``def check(cmd: CreateOrder) -> Result[CreateOrder, ValidationFailed]``."""

        def register(validator: Validator[M]) -> Validator[M]:
            # Stored widened to Message: __call__ only applies it to instances of message_type.
            self._validators.append((message_type, cast("Validator[Message]", validator)))
            return validator

        return register

    async def __call__[R](self, message: Message, call_next: Next[R]) -> Result[R, AnyAppError]:
        for message_type, validator in self._validators:
            if isinstance(message, message_type):
                outcome = validator(message)
                if isinstance(outcome, Err):
                    return outcome
        return await call_next()


class TransactionBehaviour:
    """Runs a command's handler in one unit of work: commit on ``Ok``, roll back on ``Err`` or exception.

    Events the unit collected are published only after the commit succeeded, so nobody hears of a change
    that was rolled back; a publishing failure propagates (use an outbox where delivery must be guaranteed).
    The unit of work is entered per command, so give each concurrently used bus its own.
    """

    def __init__(self, uow: UnitOfWork, publisher: EventPublisher | None = None) -> None:
        self._uow = uow
        self._publisher = publisher

    async def __call__[R](self, message: BaseCommand[object], call_next: Next[R]) -> Result[R, AnyAppError]:
        async with self._uow:
            try:
                result = await call_next()
            except BaseException:
                await self._uow.rollback()
                raise
            if isinstance(result, Err):
                await self._uow.rollback()
                return result
            await self._uow.commit()
            events = self._uow.collect_events() if self._publisher is not None else []
        if self._publisher is not None and events:
            await self._publisher.publish(events)
        return result


class CachingBehaviour:
    """Serves repeated queries from a store: only ``Ok`` results of query classes with a TTL are kept.

    ``Err`` results are never cached, so a transient failure (or a not-found that is about to be created) does
    not stick. Query classes without ``cache_ttl_seconds`` (or with a non-positive one) bypass the store.
    """

    def __init__(self, store: Store[str, Result[object, AnyAppError]]) -> None:
        self._store = store

    async def __call__[R](self, message: BaseQuery[object], call_next: Next[R]) -> Result[R, AnyAppError]:
        ttl = type(message).cache_ttl_seconds
        if ttl is None or ttl <= 0:
            return await call_next()
        key = message.cache_key()
        cached = await self._store.get(key)
        if isinstance(cached, Ok):
            # Only this behaviour writes under a query's key, and only Ok results of that query's handler.
            return cast("Ok[R]", cached)
        result = await call_next()
        if isinstance(result, Ok):
            await self._store.set(key, result, ttl_seconds=ttl)
        return result
