"""The guarded SQL unit of work on SQLite: failures open the "database" breaker, refusals never connect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from apibase.infrastructure.persistence.database import create_session_factory
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work
from apibase.infrastructure.resilience import (
    BreakerPolicy,
    CircuitBreakers,
    CircuitOpenError,
    GuardedSQLAlchemyUnitOfWork,
    database_failure,
    guarded_sql_unit_of_work_factory,
)

pytestmark = pytest.mark.unit


def registry(threshold: int = 2) -> CircuitBreakers:
    policy = BreakerPolicy(failure_threshold=threshold, recovery_timeout_seconds=30, is_failure=database_failure)
    return CircuitBreakers({"database": policy})


class Unreachable:
    """Stands in for the driver's connect: refuses like a database with nothing listening, and counts the tries."""

    def __init__(self) -> None:
        self.attempts = 0

    async def __call__(self) -> aiosqlite.Connection:
        self.attempts += 1
        raise ConnectionRefusedError("connect call failed")


@pytest.fixture
async def reachable(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE things (id INTEGER PRIMARY KEY)"))
    yield engine
    await engine.dispose()


async def test_connection_failures_open_the_breaker_and_then_nothing_connects() -> None:
    breakers = registry()
    connect = Unreachable()
    engine = create_async_engine("sqlite+aiosqlite://", async_creator=connect)
    unit_of_work = guarded_sql_unit_of_work_factory(create_session_factory(engine), breakers)

    for _ in range(2):
        with pytest.raises(ConnectionRefusedError):
            async with unit_of_work() as uow:
                await require_sql_unit_of_work(uow).session.execute(text("SELECT 1"))
    assert (connect.attempts, breakers.states()["database"]) == (2, "open")

    refused = unit_of_work()
    with pytest.raises(CircuitOpenError) as error:
        await refused.__aenter__()
    assert error.value.dependency == "database"
    assert connect.attempts == 2
    with pytest.raises(RuntimeError, match="not active"):  # the refused unit let go of its session
        require_sql_unit_of_work(refused).session  # noqa: B018 - the property access is the check


async def test_a_working_database_keeps_it_closed_and_its_refusals_do_not_count(reachable: AsyncEngine) -> None:
    breakers = registry()
    unit_of_work = guarded_sql_unit_of_work_factory(create_session_factory(reachable), breakers)
    async with unit_of_work() as uow:
        await require_sql_unit_of_work(uow).session.execute(text("INSERT INTO things (id) VALUES (1)"))
        await uow.commit()
    for _ in range(3):  # a duplicate key is the database answering: never a failure
        with pytest.raises(IntegrityError):
            async with unit_of_work() as uow:
                await require_sql_unit_of_work(uow).session.execute(text("INSERT INTO things (id) VALUES (1)"))
    async with unit_of_work() as uow:
        assert (await require_sql_unit_of_work(uow).session.execute(text("SELECT count(*) FROM things"))).scalar() == 1
    assert breakers.states()["database"] == "closed"


class DeadSession:
    """A session whose rollback finds the connection gone, as after a failover mid-transaction."""

    closed = False

    def in_transaction(self) -> bool:
        return True

    async def rollback(self) -> None:
        raise ConnectionResetError("connection lost")

    async def close(self) -> None:
        self.closed = True


async def test_a_failed_rollback_counts_and_still_propagates() -> None:
    breakers = registry(threshold=1)
    session = DeadSession()
    factory = cast("async_sessionmaker[AsyncSession]", lambda: session)
    with pytest.raises(ConnectionResetError):
        async with GuardedSQLAlchemyUnitOfWork(factory, lambda: breakers.guard("database")):
            raise LookupError("the use case failed first")
    assert session.closed
    assert breakers.states()["database"] == "open"


def test_an_unknown_breaker_fails_at_wiring_time(reachable: AsyncEngine) -> None:
    with pytest.raises(KeyError, match="db"):
        guarded_sql_unit_of_work_factory(create_session_factory(reachable), registry(), name="db")
