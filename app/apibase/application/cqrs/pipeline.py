"""The behaviour pipeline: cross-cutting steps (logging, tracing, the unit of work) around a handler.

Each behaviour gets the message and a ``call_next`` that runs the rest of the pipeline, so it can act
before and after, skip the handler (short-circuit) or call it again; the first one listed is the outermost.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from apibase.core.errors import AnyAppError
from apibase.core.result import Result

__all__ = ["Behaviour", "Next", "Pipeline"]

type Next[R] = Callable[[], Awaitable[Result[R, AnyAppError]]]


class Behaviour[M](Protocol):
    """One pipeline step for messages of type ``M``.

    Generic in the result so that a step cannot change what the handler returns, only return an ``Err``
    (or a cached value) in its place.
    """

    async def __call__[R](self, message: M, call_next: Next[R]) -> Result[R, AnyAppError]: ...


class Pipeline[M]:
    """An ordered, immutable list of behaviours, wrapped around whichever handler a message is routed to."""

    def __init__(self, behaviours: Iterable[Behaviour[M]] = ()) -> None:
        self._behaviours = tuple(behaviours)

    @property
    def behaviours(self) -> tuple[Behaviour[M], ...]:
        return self._behaviours

    async def run[R](
        self, message: M, handler: Callable[[M], Awaitable[Result[R, AnyAppError]]]
    ) -> Result[R, AnyAppError]:
        call_next: Next[R] = functools.partial(handler, message)
        for behaviour in reversed(self._behaviours):
            call_next = _link(behaviour, message, call_next)
        return await call_next()


def _link[M, R](behaviour: Behaviour[M], message: M, call_next: Next[R]) -> Next[R]:
    async def step() -> Result[R, AnyAppError]:
        return await behaviour(message, call_next)

    return step
