"""The SQL idempotency store on SQLite: primary-key claims, replay, expiry, owner-only changes, outages."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.application.ports.idempotency import (
    Claimed,
    IdempotencyUnavailable,
    InProgress,
    Mismatch,
    Replay,
    StoredResponse,
)
from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.idempotency import IdempotencyKeyRow, SqlIdempotencyStore
from apibase.interface.http.middleware.idempotency import IdempotencyMiddleware
from apibase.interface.http.problems import install_problem_handlers

pytestmark = pytest.mark.unit

RESPONSE = StoredResponse(201, (("content-type", "application/json"), ("location", "/x/1")), b'{"id":1}\x00\xff')


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'idempotency.db'}"))
    async with engine.begin() as connection:
        table = IdempotencyKeyRow.metadata.tables[IdempotencyKeyRow.__tablename__]
        await connection.run_sync(IdempotencyKeyRow.metadata.create_all, tables=[table])
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(engine: AsyncEngine, clock: Clock) -> SqlIdempotencyStore:
    return SqlIdempotencyStore(create_session_factory(engine), clock=clock)


async def claim(store: SqlIdempotencyStore, key: str = "t:k", fingerprint: str = "fp") -> Claimed:
    outcome = await store.begin(key, fingerprint, 30)
    assert isinstance(outcome, Claimed)
    return outcome


async def test_a_key_is_claimed_once_then_reported_in_progress_or_mismatched(store: SqlIdempotencyStore) -> None:
    await claim(store)
    assert await store.begin("t:k", "fp", 30) == InProgress()
    assert await store.begin("t:k", "other", 30) == Mismatch()


async def test_a_completed_key_replays_its_response_byte_for_byte(store: SqlIdempotencyStore) -> None:
    await store.complete(await claim(store), RESPONSE, 60)
    assert await store.begin("t:k", "fp", 30) == Replay(RESPONSE)
    assert await store.begin("t:k", "other", 30) == Mismatch()


async def test_a_response_kept_without_its_body_replays_as_such(store: SqlIdempotencyStore) -> None:
    unkept = StoredResponse(200, (), None)
    await store.complete(await claim(store), unkept, 60)
    assert await store.begin("t:k", "fp", 30) == Replay(unkept)


async def test_concurrent_claims_have_exactly_one_winner(store: SqlIdempotencyStore) -> None:
    outcomes = await asyncio.gather(*(store.begin("t:k", "fp", 30) for _ in range(20)))
    assert sum(isinstance(outcome, Claimed) for outcome in outcomes) == 1
    assert outcomes.count(InProgress()) == 19


async def test_a_released_key_can_be_claimed_again(store: SqlIdempotencyStore) -> None:
    await store.release(await claim(store))
    await claim(store)


async def test_expired_rows_count_as_absent_and_a_lapsed_owner_cannot_write(
    store: SqlIdempotencyStore, clock: Clock
) -> None:
    stale = await claim(store)
    clock.now += timedelta(seconds=30)
    fresh = await claim(store)
    await store.complete(stale, RESPONSE, 60)
    await store.release(stale)
    assert await store.begin("t:k", "fp", 30) == InProgress()
    await store.complete(fresh, RESPONSE, 60)
    clock.now += timedelta(seconds=59)
    assert await store.begin("t:k", "fp", 30) == Replay(RESPONSE)
    clock.now += timedelta(seconds=1)
    await claim(store, fingerprint="a-new-request")


async def test_a_finished_response_cannot_be_released(store: SqlIdempotencyStore) -> None:
    owner = await claim(store)
    await store.complete(owner, RESPONSE, 60)
    await store.release(owner)
    assert await store.begin("t:k", "fp", 30) == Replay(RESPONSE)


async def test_purge_removes_only_expired_rows(store: SqlIdempotencyStore, clock: Clock) -> None:
    await claim(store, "t:old")
    clock.now += timedelta(seconds=31)
    await claim(store, "t:new")
    assert await store.purge_expired() == 1
    assert await store.begin("t:new", "fp", 30) == InProgress()


async def test_a_failing_database_is_reported_as_unavailable(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'no-table.db'}"))
    store = SqlIdempotencyStore(create_session_factory(engine))  # the table was never created
    claim_ = Claimed("t:k", "fp", "token")
    try:
        with pytest.raises(IdempotencyUnavailable):
            await store.begin("t:k", "fp", 30)
        with pytest.raises(IdempotencyUnavailable):
            await store.complete(claim_, RESPONSE, 60)
        with pytest.raises(IdempotencyUnavailable):
            await store.release(claim_)
    finally:
        await engine.dispose()


async def test_through_the_middleware_a_concurrent_duplicate_runs_the_handler_once(
    store: SqlIdempotencyStore,
) -> None:
    runs = 0
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(IdempotencyMiddleware, store=store, ttl_seconds=60)

    @app.post("/charges")
    async def charge() -> dict[str, int]:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.2)
        return {"charge": runs}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        headers = {"Idempotency-Key": "charge-1"}
        first, second = await asyncio.gather(
            http.post("/charges", json={"amount": 5}, headers=headers),
            http.post("/charges", json={"amount": 5}, headers=headers),
        )
        replay = await http.post("/charges", json={"amount": 5}, headers=headers)
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    assert runs == 1
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == {"charge": 1}
