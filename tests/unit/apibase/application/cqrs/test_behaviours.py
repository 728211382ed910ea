from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType
from typing import ClassVar, Self

import pytest

from apibase.application.cqrs.behaviours import (
    CachingBehaviour,
    LoggingBehaviour,
    TransactionBehaviour,
    ValidationBehaviour,
)
from apibase.application.cqrs.messages import BaseCommand, BaseQuery, Message
from apibase.core.errors import AnyAppError, DependencyUnavailable, NotFoundError, ValidationFailed
from apibase.core.result import Err, Ok, Result
from apibase.domain.events import DomainEvent

pytestmark = pytest.mark.unit

SECRET = "hunter2-s3cr3t"


class ChangePassword(BaseCommand[None]):
    username: str
    new_password: str


class CreateUser(BaseCommand[int]):
    username: str


class CreateAdmin(CreateUser):
    pass


class GetProfile(BaseQuery[str]):
    cache_ttl_seconds: ClassVar[float | None] = 60.0

    user_id: int


class SearchUsers(BaseQuery[list[str]]):
    text: str


class GetNothingCached(BaseQuery[str]):
    cache_ttl_seconds: ClassVar[float | None] = 0

    user_id: int


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

    def __init__(self, events: Sequence[DomainEvent] = (), *, fail_commit: bool = False) -> None:
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
        if self._fail_commit:
            raise ConnectionError("lost the database")
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


class FakeStore:
    """An in-memory store with expiry against a clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self.entries: dict[str, tuple[Result[object, AnyAppError], float | None]] = {}
        self.ttls: list[float | None] = []

    async def get(self, key: str) -> Result[object, AnyAppError] | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at is not None and self.now >= expires_at:
            del self.entries[key]
            return None
        return value

    async def set(self, key: str, value: Result[object, AnyAppError], *, ttl_seconds: float | None = None) -> None:
        self.ttls.append(ttl_seconds)
        self.entries[key] = (value, None if ttl_seconds is None else self.now + ttl_seconds)

    async def delete(self, key: str) -> None:
        self.entries.pop(key, None)

    async def clear(self) -> None:
        self.entries.clear()


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


class TestValidationBehaviour:
    async def test_without_validators_the_handler_runs(self) -> None:
        handler = Handler(Ok(1))

        assert await ValidationBehaviour()(CreateUser(username="ada"), handler) == Ok(1)
        assert handler.calls == 1

    async def test_passing_validators_let_the_handler_run(self) -> None:
        validation = ValidationBehaviour()
        seen: list[Message] = []

        @validation.validates(CreateUser)
        def record(command: CreateUser) -> Result[CreateUser, ValidationFailed]:
            seen.append(command)
            return Ok(command)

        handler = Handler(Ok(1))
        command = CreateUser(username="ada")

        assert await validation(command, handler) == Ok(1)
        assert seen == [command]
        assert handler.calls == 1
        assert record(command) == Ok(command), "the decorator returns the validator"

    async def test_the_first_err_short_circuits(self) -> None:
        validation = ValidationBehaviour()
        ran: list[str] = []

        @validation.validates(CreateUser)
        def not_blank(command: CreateUser) -> Result[CreateUser, ValidationFailed]:
            ran.append("not_blank")
            return Err(ValidationFailed("username is blank")) if not command.username else Ok(command)

        @validation.validates(CreateUser)
        def not_reserved(command: CreateUser) -> Result[CreateUser, ValidationFailed]:
            ran.append("not_reserved")
            return Ok(command)

        handler = Handler(Ok(1))

        result = await validation(CreateUser(username=""), handler)

        assert result == Err(ValidationFailed("username is blank"))
        assert ran == ["not_blank"], "later validators do not run"
        assert handler.calls == 0, "the handler does not run"

    async def test_validators_apply_to_subclasses_only_of_their_type(self) -> None:
        validation = ValidationBehaviour()

        @validation.validates(CreateAdmin)
        def admins_only_with_admin_prefix(command: CreateAdmin) -> Result[CreateAdmin, ValidationFailed]:
            return Ok(command) if command.username.startswith("admin-") else Err(ValidationFailed("prefix"))

        @validation.validates(BaseCommand)
        def needs_a_user(command: BaseCommand[object]) -> Result[BaseCommand[object], ValidationFailed]:
            return Ok(command) if command.user_id else Err(ValidationFailed("anonymous"))

        assert await validation(CreateUser(username="bob", user_id="u"), Handler(Ok(1))) == Ok(1)
        assert await validation(CreateAdmin(username="bob", user_id="u"), Handler(Ok(1))) == Err(
            ValidationFailed("prefix")
        )
        assert await validation(CreateUser(username="bob"), Handler(Ok(1))) == Err(ValidationFailed("anonymous"))
        assert await validation(SearchUsers(text="x"), Handler(Ok(["x"]))) == Ok(["x"])


class TestTransactionBehaviour:
    async def test_commits_on_ok(self) -> None:
        uow = FakeUnitOfWork()

        result = await TransactionBehaviour(uow)(CreateUser(username="ada"), Handler(Ok(1)))

        assert result == Ok(1)
        assert uow.steps == ["begin", "commit", "end"]

    async def test_rolls_back_on_err(self) -> None:
        uow = FakeUnitOfWork([UserCreated(aggregate_id="1")])
        publisher = FakePublisher(uow.steps)
        error = DependencyUnavailable("mail server down")

        result = await TransactionBehaviour(uow, publisher)(CreateUser(username="ada"), Handler[int](Err(error)))

        assert result == Err(error)
        assert uow.steps == ["begin", "rollback", "end"]
        assert publisher.published == []

    async def test_rolls_back_on_exception_and_reraises(self) -> None:
        uow = FakeUnitOfWork([UserCreated(aggregate_id="1")])
        publisher = FakePublisher(uow.steps)

        with pytest.raises(KeyError, match="boom"):
            await TransactionBehaviour(uow, publisher)(CreateUser(username="ada"), Handler[int](KeyError("boom")))

        assert uow.steps == ["begin", "rollback", "end after KeyError"]
        assert publisher.published == []

    async def test_publishes_collected_events_after_the_commit(self) -> None:
        events = [UserCreated(aggregate_id="1"), UserCreated(aggregate_id="2")]
        uow = FakeUnitOfWork(events)
        publisher = FakePublisher(uow.steps)

        result = await TransactionBehaviour(uow, publisher)(CreateUser(username="ada"), Handler(Ok(1)))

        assert result == Ok(1)
        assert uow.steps == ["begin", "commit", "collect events", "end", "publish 2"]
        assert publisher.published == events

    async def test_does_not_publish_when_nothing_happened(self) -> None:
        uow = FakeUnitOfWork()
        publisher = FakePublisher(uow.steps)

        await TransactionBehaviour(uow, publisher)(CreateUser(username="ada"), Handler(Ok(1)))

        assert uow.steps == ["begin", "commit", "collect events", "end"]

    async def test_without_publisher_events_are_left_in_the_unit(self) -> None:
        uow = FakeUnitOfWork([UserCreated(aggregate_id="1")])

        await TransactionBehaviour(uow)(CreateUser(username="ada"), Handler(Ok(1)))

        assert "collect events" not in uow.steps

    async def test_a_failed_commit_propagates_and_publishes_nothing(self) -> None:
        uow = FakeUnitOfWork([UserCreated(aggregate_id="1")], fail_commit=True)
        publisher = FakePublisher(uow.steps)

        with pytest.raises(ConnectionError):
            await TransactionBehaviour(uow, publisher)(CreateUser(username="ada"), Handler(Ok(1)))

        assert uow.steps == ["begin", "end after ConnectionError"]
        assert publisher.published == []


class TestCachingBehaviour:
    async def test_a_miss_runs_the_handler_and_a_hit_skips_it(self) -> None:
        store = FakeStore()
        caching = CachingBehaviour(store)
        handler = Handler(Ok("profile 1"))

        first = await caching(GetProfile(user_id=1), handler)
        second = await caching(GetProfile(user_id=1), handler)

        assert first == second == Ok("profile 1")
        assert handler.calls == 1
        assert store.ttls == [60.0]
        assert list(store.entries) == [GetProfile(user_id=1).cache_key()]

    async def test_different_queries_do_not_share_entries(self) -> None:
        caching = CachingBehaviour(FakeStore())
        handler = Handler(Ok("profile"))

        await caching(GetProfile(user_id=1), handler)
        await caching(GetProfile(user_id=2), handler)

        assert handler.calls == 2

    async def test_an_expired_entry_runs_the_handler_again(self) -> None:
        store = FakeStore()
        caching = CachingBehaviour(store)
        handler = Handler(Ok("profile 1"))

        await caching(GetProfile(user_id=1), handler)
        store.now = 59.9
        await caching(GetProfile(user_id=1), handler)
        assert handler.calls == 1
        store.now = 60.0
        await caching(GetProfile(user_id=1), handler)

        assert handler.calls == 2

    async def test_err_results_are_never_cached(self) -> None:
        store = FakeStore()
        caching = CachingBehaviour(store)
        handler = Handler[str](Err(NotFoundError("no profile")))

        assert await caching(GetProfile(user_id=1), handler) == Err(NotFoundError("no profile"))
        assert await caching(GetProfile(user_id=1), handler) == Err(NotFoundError("no profile"))

        assert handler.calls == 2
        assert store.entries == {}

    async def test_a_stored_err_is_not_served(self) -> None:
        store = FakeStore()
        query = GetProfile(user_id=1)
        await store.set(query.cache_key(), Err(NotFoundError("stale")))
        handler = Handler(Ok("profile 1"))

        assert await CachingBehaviour(store)(query, handler) == Ok("profile 1")
        assert handler.calls == 1

    @pytest.mark.parametrize("query", [SearchUsers(text="a"), GetNothingCached(user_id=1)])
    async def test_queries_without_a_positive_ttl_bypass_the_store(self, query: BaseQuery[object]) -> None:
        store = FakeStore()
        handler = Handler(Ok("value"))

        await CachingBehaviour(store)(query, handler)
        await CachingBehaviour(store)(query, handler)

        assert handler.calls == 2
        assert store.entries == {}
        assert store.ttls == []
