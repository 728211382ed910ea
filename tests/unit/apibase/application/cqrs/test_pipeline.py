from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from apibase.application.cqrs.messages import BaseCommand
from apibase.application.cqrs.pipeline import Behaviour, Next, Pipeline
from apibase.core.errors import AnyAppError, ConflictError, DependencyUnavailable
from apibase.core.result import Err, Ok, Result

pytestmark = pytest.mark.unit


class Rename(BaseCommand[str]):
    name: str


class Recorder:
    """Records when it is entered and left, so tests can read the nesting order."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def __call__[R](self, message: Rename, call_next: Next[R]) -> Result[R, AnyAppError]:
        self.log.append(f"{self.name}:before")
        result = await call_next()
        self.log.append(f"{self.name}:after")
        return result


class Refuse:
    async def __call__[R](self, message: Rename, call_next: Next[R]) -> Result[R, AnyAppError]:
        return Err(ConflictError(f"{message.name} is taken"))


class RetryOnce:
    async def __call__[R](self, message: Rename, call_next: Next[R]) -> Result[R, AnyAppError]:
        result = await call_next()
        return await call_next() if isinstance(result, Err) else result


def recording_handler(log: list[str]) -> Callable[[Rename], Awaitable[Result[str, AnyAppError]]]:
    async def handle(message: Rename) -> Result[str, AnyAppError]:
        log.append("handler")
        return Ok(message.name.upper())

    return handle


async def test_without_behaviours_the_handler_runs_alone() -> None:
    log: list[str] = []

    result = await Pipeline[Rename]().run(Rename(name="ada"), recording_handler(log))

    assert result == Ok("ADA")
    assert log == ["handler"]


async def test_the_first_behaviour_listed_is_the_outermost() -> None:
    log: list[str] = []
    behaviours: list[Behaviour[Rename]] = [Recorder(name, log) for name in ("outer", "middle", "inner")]
    pipeline = Pipeline(behaviours)

    result = await pipeline.run(Rename(name="ada"), recording_handler(log))

    assert result == Ok("ADA")
    assert log == [
        "outer:before",
        "middle:before",
        "inner:before",
        "handler",
        "inner:after",
        "middle:after",
        "outer:after",
    ]
    assert pipeline.behaviours == tuple(behaviours)


async def test_a_behaviour_can_short_circuit_the_rest() -> None:
    log: list[str] = []
    pipeline = Pipeline[Rename]([Recorder("outer", log), Refuse(), Recorder("inner", log)])

    result = await pipeline.run(Rename(name="ada"), recording_handler(log))

    assert result == Err(ConflictError("ada is taken"))
    assert log == ["outer:before", "outer:after"]


async def test_a_behaviour_can_run_the_rest_again() -> None:
    outcomes: list[Result[str, AnyAppError]] = [Err(DependencyUnavailable("down")), Ok("second")]

    async def flaky(message: Rename) -> Result[str, AnyAppError]:
        return outcomes.pop(0)

    result = await Pipeline[Rename]([RetryOnce()]).run(Rename(name="ada"), flaky)

    assert result == Ok("second")
    assert outcomes == []
