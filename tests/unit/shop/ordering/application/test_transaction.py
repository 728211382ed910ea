"""run_command/run_query: commit before Ok, publish after commit, expected errors as Err, bugs propagate."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from apibase.application.in_memory import InMemoryEventPublisher, InMemoryUnitOfWork
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import ConflictError
from apibase.core.result import Err, Ok
from apibase.domain.events import DomainEvent
from shop.ordering.application import run_command, run_query

pytestmark = pytest.mark.unit


class Recorded(DomainEvent):
    pass


class RecordingUnitOfWork(InMemoryUnitOfWork):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def commit(self) -> None:
        self.log.append("commit")
        await super().commit()

    def collect_events(self) -> list[DomainEvent]:
        return [Recorded(aggregate_id="a")]


class RecordingPublisher(InMemoryEventPublisher):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        self.log.append("publish")
        await super().publish(events)


async def test_commits_then_publishes_then_returns_ok() -> None:
    log: list[str] = []

    async def work(uow: UnitOfWork) -> str:
        log.append("work")
        return "done"

    result = await run_command(lambda: RecordingUnitOfWork(log), work, RecordingPublisher(log))

    assert result == Ok("done")
    assert log == ["work", "commit", "publish"]


async def test_without_a_publisher_events_are_dropped() -> None:
    async def work(uow: UnitOfWork) -> int:
        return 1

    assert await run_command(lambda: RecordingUnitOfWork([]), work) == Ok(1)


async def test_an_expected_error_is_an_err_and_nothing_is_committed() -> None:
    log: list[str] = []
    conflict = ConflictError("taken")

    async def work(uow: UnitOfWork) -> int:
        raise conflict

    result = await run_command(lambda: RecordingUnitOfWork(log), work, RecordingPublisher(log))

    assert result == Err(conflict)
    assert log == []


async def test_a_bug_propagates() -> None:
    async def work(uow: UnitOfWork) -> int:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError, match="bug"):
        await run_command(InMemoryUnitOfWork, work)
    with pytest.raises(RuntimeError, match="bug"):
        await run_query(InMemoryUnitOfWork, work)


async def test_run_query_never_commits() -> None:
    log: list[str] = []

    async def work(uow: UnitOfWork) -> int:
        return 7

    async def refuse(uow: UnitOfWork) -> int:
        raise ConflictError("no")

    assert await run_query(lambda: RecordingUnitOfWork(log), work) == Ok(7)
    assert isinstance(await run_query(lambda: RecordingUnitOfWork(log), refuse), Err)
    assert log == []
