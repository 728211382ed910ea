"""The standard behaviours: logging, retrying a lost version race, and the unit of work every message runs in.

Each is a small class with a generic ``__call__`` matching ``pipeline.Behaviour``. List them outermost
first, e.g. ``CommandBus([LoggingBehaviour(), ConflictRetryBehaviour(), TransactionBehaviour(unit_of_work,
publisher, outbox=outbox)])``, so that the log covers the commit and its outcome and a retry gets a unit of work
of its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from apibase.application.cqrs.messages import BaseCommand, Message
from apibase.application.cqrs.pipeline import Next
from apibase.application.cqrs.unit_of_work import bind_unit_of_work
from apibase.application.ports.events import EventPublisher
from apibase.application.ports.outbox import Outbox
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import (
    AnyAppError,
    ApplicationError,
    ConcurrencyConflict,
    DomainError,
    InfrastructureError,
    WriteContention,
)
from apibase.core.result import Err, Ok, Result

__all__ = ["WRITE_CONTENTION_ATTEMPTS", "ConflictRetryBehaviour", "LoggingBehaviour", "TransactionBehaviour"]

_logger = logging.getLogger(__name__)
#: Runs of a command whose writes the database refused because another transaction wrote first (``WriteContention``).
WRITE_CONTENTION_ATTEMPTS = 5
_EXPECTED = (DomainError, ApplicationError, InfrastructureError)


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


class ConflictRetryBehaviour:
    """Runs a command again while it answers ``ConcurrencyConflict``, up to its ``conflict_attempts`` in all.

    List it outside the ``TransactionBehaviour``: every run then reads afresh in a unit of work of its own, and a
    conflict the handler raised was already rolled back. The last conflict is the answer when attempts run out.
    A ``WriteContention`` (the database refused the write before any version was checked) is run again up to
    ``WRITE_CONTENTION_ATTEMPTS`` times for every command: another writer, e.g. the outbox relay, merely came first.
    """

    async def __call__[R](self, message: BaseCommand[object], call_next: Next[R]) -> Result[R, AnyAppError]:
        result = await call_next()
        conflicts = contentions = 1
        while isinstance(result, Err) and isinstance(result.error, ConcurrencyConflict):
            if isinstance(result.error, WriteContention) and contentions < WRITE_CONTENTION_ATTEMPTS:
                contentions += 1
            elif conflicts < message.conflict_attempts:
                conflicts += 1
            else:
                break
            result = await call_next()
        return result


class TransactionBehaviour:
    """Runs each message's handler in a unit of work of its own, made by ``unit_of_work`` for that message alone.

    The handler reaches it through ``current_unit_of_work()``. A command that returns ``Ok`` is committed before
    the ``Ok`` goes back, so the caller never answers for a write that may still roll back; an ``Err`` (unless
    the command says ``commit_on_err``), an expected error the handler (or the commit) raises, and every query
    leave without a commit, so nothing is kept. Expected errors (domain, application, infrastructure) come back
    as ``Err``; anything else is a bug and propagates.

    Events: a committing command's events go to ``outbox`` inside its transaction, just before the commit, so
    they are kept exactly when the change is (a failing store rolls the change back); ``committed()`` then wakes
    the relay. ``publisher`` (in-process, best-effort subscribers) hears them only after the commit, so nobody
    hears of a change that was rolled back; its failure propagates.
    """

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        publisher: EventPublisher | None = None,
        *,
        outbox: Outbox | None = None,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._publisher = publisher
        self._outbox = outbox

    async def __call__[R](self, message: Message, call_next: Next[R]) -> Result[R, AnyAppError]:
        try:
            async with self._unit_of_work() as unit:
                with bind_unit_of_work(unit):
                    result = await call_next()
                if not isinstance(message, BaseCommand) or (isinstance(result, Err) and not message.commit_on_err):
                    return result  # leaving the unit without a commit keeps nothing
                events = unit.collect_events()
                if events and self._outbox is not None:
                    await self._outbox.store(unit, events)
                await unit.commit()
        except _EXPECTED as error:
            return Err(error)
        if events and self._outbox is not None:
            self._outbox.committed()
        if events and self._publisher is not None:
            await self._publisher.publish(events)
        return result
