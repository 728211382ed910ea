"""The unit of work opened for the message being handled, bound where its handler can reach it.

Handlers are built once and shared by concurrent requests, so the unit cannot be a constructor argument:
``TransactionBehaviour`` opens one per message and binds it here, in a context variable that asyncio copies
per task, so two requests never see each other's unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from apibase.application.ports.unit_of_work import UnitOfWork

__all__ = ["NoUnitOfWorkError", "bind_unit_of_work", "current_unit_of_work"]

_active: ContextVar[UnitOfWork | None] = ContextVar("apibase_unit_of_work", default=None)


class NoUnitOfWorkError(RuntimeError):
    """A handler asked for its unit of work outside a ``TransactionBehaviour``: a wiring mistake, not an outcome."""


def current_unit_of_work() -> UnitOfWork:
    """The unit of the message being handled; build the handler's repositories on it."""
    unit = _active.get()
    if unit is None:
        raise NoUnitOfWorkError("no unit of work is bound: run this handler on a bus with a TransactionBehaviour")
    return unit


@contextmanager
def bind_unit_of_work(unit: UnitOfWork) -> Iterator[UnitOfWork]:
    """Make ``unit`` the current one for the code inside (the previous binding comes back on the way out)."""
    token = _active.set(unit)
    try:
        yield unit
    finally:
        _active.reset(token)
