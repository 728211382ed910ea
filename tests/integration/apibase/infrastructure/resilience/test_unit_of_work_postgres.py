"""The guarded unit of work against PostgreSQL: nothing listening opens the breaker; the real server keeps it closed.

Over HTTP, an open "database" circuit answers 503 ``resilience.circuit_open`` with ``Retry-After`` at once, without
a connection attempt (counted with SQLAlchemy's ``do_connect`` event, which fires before every driver connect).
"""

import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, pool, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.infrastructure.persistence.database import create_session_factory
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work
from apibase.infrastructure.resilience import (
    BreakerPolicy,
    CircuitBreakers,
    database_failure,
    guarded_sql_unit_of_work_factory,
)
from apibase.interface.http.problems import install_problem_handlers

pytestmark = pytest.mark.integration

THRESHOLD = 3
UNREACHABLE_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/test"


def registry() -> CircuitBreakers:
    policy = BreakerPolicy(failure_threshold=THRESHOLD, recovery_timeout_seconds=30, is_failure=database_failure)
    return CircuitBreakers({"database": policy, "redis": BreakerPolicy()})


def service(unit_of_work: Callable[[], UnitOfWork]) -> FastAPI:
    """One endpoint that runs a query in a unit of work, as every repository-backed route does."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/now")
    async def now() -> dict[str, str]:
        async with unit_of_work() as uow:
            value = (await require_sql_unit_of_work(uow).session.execute(text("SELECT now()::text"))).scalar_one()
        return {"now": value}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a 500 is an answer here, not a crash
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def insert_a_duplicate(unit_of_work: Callable[[], UnitOfWork]) -> None:
    async with unit_of_work() as uow:
        session = require_sql_unit_of_work(uow).session
        await session.execute(text("CREATE TEMP TABLE once (id int PRIMARY KEY) ON COMMIT DROP"))
        await session.execute(text("INSERT INTO once VALUES (1), (1)"))


@pytest.fixture
async def unreachable() -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(UNREACHABLE_URL, poolclass=pool.NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture
async def reachable(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(postgres_url, poolclass=pool.NullPool)
    yield engine
    await engine.dispose()


async def test_nothing_listening_opens_the_breaker_and_requests_then_fail_fast(unreachable: AsyncEngine) -> None:
    attempts: list[object] = []
    event.listen(unreachable.sync_engine, "do_connect", lambda *args: attempts.append(args))
    breakers = registry()
    app = service(guarded_sql_unit_of_work_factory(create_session_factory(unreachable), breakers))

    async with client(app) as http:
        for _ in range(THRESHOLD):
            assert (await http.get("/now")).status_code == 500  # a refused connection the adapter did not translate
        assert (len(attempts), breakers.states()) == (THRESHOLD, {"database": "open", "redis": "closed"})

        started = time.perf_counter()
        responses = [await http.get("/now") for _ in range(20)]
        elapsed = time.perf_counter() - started

    assert len(attempts) == THRESHOLD  # not one more connection attempt while open
    assert elapsed < 1.0
    for response in responses:
        assert response.status_code == 503
        assert response.headers["Retry-After"] in {"29", "30"}
        problem = response.json()
        assert (problem["code"], problem["dependency"]) == ("resilience.circuit_open", "database")


async def test_the_real_database_keeps_it_closed_even_when_it_refuses_statements(reachable: AsyncEngine) -> None:
    breakers = registry()
    unit_of_work = guarded_sql_unit_of_work_factory(create_session_factory(reachable), breakers)

    async with client(service(unit_of_work)) as http:
        for _ in range(THRESHOLD + 2):
            assert (await http.get("/now")).status_code == 200
    for _ in range(THRESHOLD + 2):  # a constraint violation is PostgreSQL answering: never a failure
        with pytest.raises(IntegrityError):
            await insert_a_duplicate(unit_of_work)
    assert breakers.states() == {"database": "closed", "redis": "closed"}
