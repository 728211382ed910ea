from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import ClassVar, Self

import pytest

from apibase.application.cqrs.behaviours import (
    WRITE_CONTENTION_ATTEMPTS,
    ConflictRetryBehaviour,
    LoggingBehaviour,
    TransactionBehaviour,
)
from apibase.application.cqrs.bus import CommandBus, QueryBus, transactional_buses
from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.application.cqrs.unit_of_work import NoUnitOfWorkError, current_unit_of_work
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import AnyAppError, ConcurrencyConflict, DependencyUnavailable, NotFoundError, WriteContention
from apibase.core.result import Err, Ok, Result
from apibase.domain.events import DomainEvent

pytestmark = pytest.mark.unit

SECRET = "hunter2-s3cr3t"


class ChangePassword(BaseCommand[None]):
    username: str
    new_password: str


class CreateUser(BaseCommand[int]):
    username: str


class CountFailedLogin(BaseCommand[None]):
    """Re-read and re-applied on a lost race; a refusal that follows the count keeps it."""

    conflict_attempts: ClassVar[int] = 3
    commit_on_err: ClassVar[bool] = True


class SearchUsers(BaseQuery[list[str]]):
    text: str


class UserCreated(DomainEvent):
    pass


class Handler[R]:
    """A stand-in for ``call_next``: returns the given result (or raises) and counts its calls."""

    def __init__(self, result: Result[R, AnyAppError] | BaseException) -> None:
        self.result = result
        self.calls = 0

    async def __call__(self) -> Result[R, AnyAppError]:
        self.calls += 1
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


class FakeUnitOfWork:
    """Records the transaction's steps; like the real port, leaving by exception rolls back."""

    def __init__(self, events: Sequence[DomainEvent] = (), *, fail_commit: Exception | None = None) -> None:
        self.steps: list[str] = []
        self._events = list(events)
        self._fail_commit = fail_commit

    async def __aenter__(self) -> Self:
        self.steps.append("begin")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.steps.append("end" if exc is None else f"end after {type(exc).__name__}")

    async def commit(self) -> None:
        if self._fail_commit is not None:
            raise self._fail_commit
        self.steps.append("commit")

    async def rollback(self) -> None:
        self.steps.append("rollback")

    def nested(self) -> Self:
        raise NotImplementedError

    def collect_events(self) -> list[DomainEvent]:
        self.steps.append("collect events")
        events, self._events = self._events, []
        return events


class FakePublisher:
    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.published: list[DomainEvent] = []

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        self.steps.append(f"publish {len(events)}")
        self.published.extend(events)


class FakeOutbox:
    """Records where in the transaction events are stored; ``fail`` makes the store raise."""

    def __init__(self, steps: list[str], *, fail: Exception | None = None) -> None:
        self.steps = steps
        self.fail = fail
        self.stored: list[DomainEvent] = []

    async def store(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        if self.fail is not None:
            raise self.fail
        self.steps.append(f"store {len(events)}")
        self.stored.extend(events)

    def committed(self) -> None:
        self.steps.append("outbox committed")


class TestLoggingBehaviour:
    @pytest.fixture(autouse=True)
    def _capture(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG, logger="apibase.application.cqrs")

    @staticmethod
    def _command() -> ChangePassword:
        return ChangePassword(username="alice", new_password=SECRET, correlation_id="req-9", user_id="u-1")

    @staticmethod
    def _assert_no_field_values(records: Sequence[logging.LogRecord]) -> None:
        for record in records:
            assert SECRET not in record.getMessage()
            assert "alice" not in record.getMessage()
            assert all(SECRET not in str(value) for value in record.__dict__.values())
            assert all("alice" not in str(value) for value in record.__dict__.values())

    async def test_logs_start_and_ok_outcome_with_type_and_ids(self, caplog: pytest.LogCaptureFixture) -> None:
        command = self._command()

        result = await LoggingBehaviour()(command, Handler(Ok(None)))

        assert result == Ok(None)
        started, finished = caplog.records
        assert started.getMessage() == "ChangePassword started"
        assert finished.getMessage().startswith("ChangePassword succeeded in ")
        assert finished.getMessage().endswith(" ms: ok")
        assert finished.levelno == logging.INFO
        assert finished.__dict__["outcome"] == "ok"
        assert finished.__dict__["message_type"] == "ChangePassword"
        assert finished.__dict__["command_id"] == str(command.command_id)
        assert finished.__dict__["correlation_id"] == "req-9"
        assert finished.__dict__["user_id"] == "u-1"
        assert finished.__dict__["duration_ms"] >= 0
        self._assert_no_field_values(caplog.records)

    async def test_logs_err_outcome_with_the_error_code_only(self, caplog: pytest.LogCaptureFixture) -> None:
        error = NotFoundError(f"user alice with password {SECRET} not found")

        result = await LoggingBehaviour()(self._command(), Handler[None](Err(error)))

        assert result == Err(error)
        finished = caplog.records[-1]
        assert finished.getMessage().startswith("ChangePassword failed in ")
        assert finished.getMessage().endswith(" ms: err common.not_found")
        assert finished.__dict__["outcome"] == "err"
        assert finished.__dict__["error_code"] == "common.not_found"
        self._assert_no_field_values(caplog.records)

    async def test_logs_an_exception_by_type_and_reraises(self, caplog: pytest.LogCaptureFixture) -> None:
        with pytest.raises(RuntimeError, match=SECRET):
            await LoggingBehaviour()(self._command(), Handler[None](RuntimeError(f"bad {SECRET}")))

        finished = caplog.records[-1]
        assert finished.levelno == logging.ERROR
        assert finished.getMessage().startswith("ChangePassword raised RuntimeError after ")
        assert finished.__dict__["outcome"] == "exception"
        assert finished.__dict__["error"] == "RuntimeError"
        assert finished.exc_info is None
        self._assert_no_field_values(caplog.records)

    async def test_logs_queries_by_type(self, caplog: pytest.LogCaptureFixture) -> None:
        await LoggingBehaviour()(SearchUsers(text=SECRET), Handler(Ok(["alice"])))

        assert [record.__dict__["message_type"] for record in caplog.records] == ["SearchUsers"] * 2
        assert "command_id" not in caplog.records[0].__dict__
        assert all(SECRET not in record.getMessage() for record in caplog.records)

    async def test_uses_the_given_logger_and_level(self, caplog: pytest.LogCaptureFixture) -> None:
        logger = logging.getLogger("apibase.application.cqrs.test")

        await LoggingBehaviour(logger, level=logging.DEBUG)(self._command(), Handler(Ok(None)))

        assert {record.name for record in caplog.records} == {"apibase.application.cqrs.test"}
        assert {record.levelno for record in caplog.records} == {logging.DEBUG}


class TestTransactionBehaviour:
    async def test_a_command_commits_before_its_ok_is_returned(self) -> None:
        unit = FakeUnitOfWork()

        result = await TransactionBehaviour(lambda: unit)(CreateUser(username="ada"), Handler(Ok(1)))

        assert result == Ok(1)
        assert unit.steps == ["begin", "collect events", "commit", "end"]

    async def test_each_message_gets_a_fresh_unit_bound_for_its_handler(self) -> None:
        units: list[FakeUnitOfWork] = []
        seen: list[UnitOfWork] = []

        def factory() -> FakeUnitOfWork:
            units.append(FakeUnitOfWork())
            return units[-1]

        async def handler() -> Result[int, AnyAppError]:
            seen.append(current_unit_of_work())
            return Ok(1)

        behaviour = TransactionBehaviour(factory)
        await behaviour(CreateUser(username="ada"), handler)
        await behaviour(CreateUser(username="bob"), handler)

        assert seen == units
        assert seen[0] is not seen[1]
        with pytest.raises(NoUnitOfWorkError):
            current_unit_of_work()  # unbound again once the message is done

    async def test_a_query_never_commits(self) -> None:
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")])
        publisher = FakePublisher(unit.steps)

        result = await TransactionBehaviour(lambda: unit, publisher)(SearchUsers(text="a"), Handler(Ok(["ada"])))

        assert result == Ok(["ada"])
        assert unit.steps == ["begin", "end"]
        assert publisher.published == []

    async def test_an_err_leaves_without_a_commit(self) -> None:
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")])
        publisher = FakePublisher(unit.steps)
        error = DependencyUnavailable("mail server down")

        result = await TransactionBehaviour(lambda: unit, publisher)(
            CreateUser(username="ada"), Handler[int](Err(error))
        )

        assert result == Err(error)
        assert unit.steps == ["begin", "end"]
        assert publisher.published == []

    @pytest.mark.parametrize(
        "error", [NotFoundError("gone"), ConcurrencyConflict("stale"), DependencyUnavailable("db")]
    )
    async def test_an_expected_error_raised_by_the_handler_rolls_back_and_is_an_err(self, error: AnyAppError) -> None:
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")])
        publisher = FakePublisher(unit.steps)

        result = await TransactionBehaviour(lambda: unit, publisher)(CreateUser(username="ada"), Handler[int](error))

        assert result == Err(error)
        assert unit.steps == ["begin", f"end after {type(error).__name__}"]
        assert publisher.published == []

    async def test_a_bug_rolls_back_and_propagates(self) -> None:
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")])
        publisher = FakePublisher(unit.steps)

        with pytest.raises(KeyError, match="boom"):
            await TransactionBehaviour(lambda: unit, publisher)(
                CreateUser(username="ada"), Handler[int](KeyError("boom"))
            )

        assert unit.steps == ["begin", "end after KeyError"]
        assert publisher.published == []

    async def test_publishes_collected_events_after_the_commit(self) -> None:
        events = [UserCreated(aggregate_id="1"), UserCreated(aggregate_id="2")]
        unit = FakeUnitOfWork(events)
        publisher = FakePublisher(unit.steps)

        result = await TransactionBehaviour(lambda: unit, publisher)(CreateUser(username="ada"), Handler(Ok(1)))

        assert result == Ok(1)
        assert unit.steps == ["begin", "collect events", "commit", "end", "publish 2"]
        assert publisher.published == events

    async def test_does_not_publish_when_nothing_happened(self) -> None:
        unit = FakeUnitOfWork()
        publisher = FakePublisher(unit.steps)

        await TransactionBehaviour(lambda: unit, publisher)(CreateUser(username="ada"), Handler(Ok(1)))

        assert unit.steps == ["begin", "collect events", "commit", "end"]

    async def test_a_failed_commit_propagates_and_publishes_nothing(self) -> None:
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")], fail_commit=ConnectionError("lost the database"))
        publisher = FakePublisher(unit.steps)

        with pytest.raises(ConnectionError):
            await TransactionBehaviour(lambda: unit, publisher)(CreateUser(username="ada"), Handler(Ok(1)))

        assert unit.steps == ["begin", "collect events", "end after ConnectionError"]
        assert publisher.published == []

    async def test_an_expected_error_from_the_commit_is_an_err(self) -> None:
        conflict = ConcurrencyConflict("written meanwhile")
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")], fail_commit=conflict)
        publisher = FakePublisher(unit.steps)

        result = await TransactionBehaviour(lambda: unit, publisher)(CreateUser(username="ada"), Handler(Ok(1)))

        assert result == Err(conflict)
        assert publisher.published == []


class TestOutbox:
    async def test_events_are_stored_in_the_transaction_and_the_relay_woken_after_the_commit(self) -> None:
        events = [UserCreated(aggregate_id="1"), UserCreated(aggregate_id="2")]
        unit = FakeUnitOfWork(events)
        outbox, publisher = FakeOutbox(unit.steps), FakePublisher(unit.steps)

        result = await TransactionBehaviour(lambda: unit, publisher, outbox=outbox)(
            CreateUser(username="ada"), Handler(Ok(1))
        )

        assert result == Ok(1)
        assert unit.steps == ["begin", "collect events", "store 2", "commit", "end", "outbox committed", "publish 2"]
        assert outbox.stored == events

    async def test_no_commit_no_event(self) -> None:
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")])
        outbox = FakeOutbox(unit.steps)

        result = await TransactionBehaviour(lambda: unit, outbox=outbox)(
            CreateUser(username="ada"), Handler[int](Err(NotFoundError("no such team")))
        )

        assert isinstance(result, Err)
        assert outbox.stored == []
        assert unit.steps == ["begin", "end"]

    async def test_a_failing_commit_wakes_nobody(self) -> None:
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")], fail_commit=DependencyUnavailable("db"))
        outbox = FakeOutbox(unit.steps)

        result = await TransactionBehaviour(lambda: unit, outbox=outbox)(CreateUser(username="ada"), Handler(Ok(1)))

        assert isinstance(result, Err)
        assert "outbox committed" not in unit.steps

    async def test_a_failing_store_means_no_commit(self) -> None:
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")])
        outbox = FakeOutbox(unit.steps, fail=DependencyUnavailable("outbox table unreachable"))

        result = await TransactionBehaviour(lambda: unit, outbox=outbox)(CreateUser(username="ada"), Handler(Ok(1)))

        assert isinstance(result, Err)
        assert unit.steps == ["begin", "collect events", "end after DependencyUnavailable"]

    async def test_a_store_that_breaks_propagates_without_a_commit(self) -> None:
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")])
        outbox = FakeOutbox(unit.steps, fail=RuntimeError("bug"))

        with pytest.raises(RuntimeError, match="bug"):
            await TransactionBehaviour(lambda: unit, outbox=outbox)(CreateUser(username="ada"), Handler(Ok(1)))

        assert "commit" not in unit.steps

    async def test_nothing_to_store_stores_nothing(self) -> None:
        unit = FakeUnitOfWork()
        outbox = FakeOutbox(unit.steps)

        await TransactionBehaviour(lambda: unit, outbox=outbox)(CreateUser(username="ada"), Handler(Ok(1)))

        assert unit.steps == ["begin", "collect events", "commit", "end"]


class TestCommitOnErr:
    async def test_a_command_that_keeps_its_refusals_commits_an_err(self) -> None:
        unit = FakeUnitOfWork([UserCreated(aggregate_id="1")])
        publisher = FakePublisher(unit.steps)
        refused = NotFoundError("counted, then refused")

        result = await TransactionBehaviour(lambda: unit, publisher)(CountFailedLogin(), Handler[None](Err(refused)))

        assert result == Err(refused)
        assert unit.steps == ["begin", "collect events", "commit", "end", "publish 1"]

    async def test_an_error_it_raises_still_rolls_back(self) -> None:
        unit = FakeUnitOfWork()
        conflict = ConcurrencyConflict("stale")

        result = await TransactionBehaviour(lambda: unit)(CountFailedLogin(), Handler[None](conflict))

        assert result == Err(conflict)
        assert unit.steps == ["begin", "end after ConcurrencyConflict"]


class TestConflictRetryBehaviour:
    async def test_a_command_is_not_run_again_unless_it_says_so(self) -> None:
        handler = Handler[int](Err(ConcurrencyConflict("stale")))

        result = await ConflictRetryBehaviour()(CreateUser(username="ada"), handler)

        assert isinstance(result, Err)
        assert handler.calls == 1

    async def test_a_lost_race_is_run_again_until_it_wins(self) -> None:
        outcomes: list[Result[None, AnyAppError]] = [Err(ConcurrencyConflict("stale")), Ok(None)]

        async def handler() -> Result[None, AnyAppError]:
            return outcomes.pop(0)

        assert await ConflictRetryBehaviour()(CountFailedLogin(), handler) == Ok(None)
        assert outcomes == []

    async def test_the_last_conflict_is_the_answer_when_attempts_run_out(self) -> None:
        handler = Handler[None](Err(ConcurrencyConflict("stale")))

        result = await ConflictRetryBehaviour()(CountFailedLogin(), handler)

        assert isinstance(result, Err)
        assert isinstance(result.error, ConcurrencyConflict)
        assert handler.calls == 3

    async def test_a_write_the_database_refused_is_run_again_for_any_command(self) -> None:
        outcomes: list[Result[int, AnyAppError]] = [Err(WriteContention("busy")), Err(WriteContention("busy")), Ok(1)]

        async def handler() -> Result[int, AnyAppError]:
            return outcomes.pop(0)

        assert await ConflictRetryBehaviour()(CreateUser(username="ada"), handler) == Ok(1)

    async def test_write_contention_has_a_budget_of_its_own(self) -> None:
        handler = Handler[int](Err(WriteContention("busy")))

        result = await ConflictRetryBehaviour()(CreateUser(username="ada"), handler)

        assert isinstance(result, Err)
        assert isinstance(result.error, WriteContention)
        assert handler.calls == WRITE_CONTENTION_ATTEMPTS

    async def test_other_errors_are_never_run_again(self) -> None:
        handler = Handler[None](Err(NotFoundError("gone")))

        await ConflictRetryBehaviour()(CountFailedLogin(), handler)

        assert handler.calls == 1

    async def test_each_run_gets_a_fresh_unit_of_work_on_the_standard_buses(self) -> None:
        units: list[FakeUnitOfWork] = []

        def factory() -> FakeUnitOfWork:
            units.append(FakeUnitOfWork())
            return units[-1]

        commands, _ = transactional_buses(factory)

        @commands.handler
        async def count(command: CountFailedLogin) -> Result[None, AnyAppError]:
            if len(units) < 3:
                raise ConcurrencyConflict("lost a race")
            return Ok(None)

        assert await commands.dispatch(CountFailedLogin()) == Ok(None)
        assert [unit.steps for unit in units] == [
            ["begin", "end after ConcurrencyConflict"],
            ["begin", "end after ConcurrencyConflict"],
            ["begin", "collect events", "commit", "end"],
        ]


class TestConcurrentMessages:
    """Handlers are shared by concurrent requests: each must work in the unit opened for its own message."""

    async def test_concurrent_commands_and_queries_never_share_a_unit_of_work(self) -> None:
        opened: list[FakeUnitOfWork] = []
        seen: dict[str, list[UnitOfWork]] = {}
        both_inside = asyncio.Barrier(4)

        def factory() -> FakeUnitOfWork:
            opened.append(FakeUnitOfWork())
            return opened[-1]

        commands = CommandBus([TransactionBehaviour(factory)])
        queries = QueryBus([TransactionBehaviour(factory)])

        @commands.handler
        async def create(command: CreateUser) -> Result[int, AnyAppError]:
            before = current_unit_of_work()
            await both_inside.wait()  # every message is inside its handler at once
            seen[command.username] = [before, current_unit_of_work()]
            return Ok(1)

        @queries.handler
        async def search(query: SearchUsers) -> Result[list[str], AnyAppError]:
            before = current_unit_of_work()
            await both_inside.wait()
            seen[query.text] = [before, current_unit_of_work()]
            return Ok([])

        await asyncio.gather(
            commands.dispatch(CreateUser(username="ada")),
            commands.dispatch(CreateUser(username="bob")),
            queries.ask(SearchUsers(text="q1")),
            queries.ask(SearchUsers(text="q2")),
        )

        assert len(opened) == 4
        assert all(before is after for before, after in seen.values()), "a handler keeps its own unit throughout"
        assert len({id(units[0]) for units in seen.values()}) == 4
        assert {id(unit) for unit in opened} == {id(units[0]) for units in seen.values()}
        assert sorted(unit.steps.count("commit") for unit in opened) == [0, 0, 1, 1]
