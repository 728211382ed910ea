"""The SQL idempotency store on the real PostgreSQL (127.0.0.1), in a schema of its own that is dropped after."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from apibase.application.ports.idempotency import (
    Claimed,
    IdempotencyUnavailable,
    InProgress,
    Mismatch,
    Replay,
    StoredResponse,
)
from apibase.infrastructure.persistence.database import create_session_factory
from apibase.infrastructure.persistence.idempotency import IdempotencyKeyRow, SqlIdempotencyStore
from apibase.interface.http.middleware.idempotency import IdempotencyMiddleware
from apibase.interface.http.problems import install_problem_handlers

pytestmark = pytest.mark.integration

RESPONSE = StoredResponse(201, (("content-type", "application/json"), ("etag", '"1"')), b'{"id":1}\x00\xff')


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(postgres_url: str, clock: Clock) -> AsyncIterator[SqlIdempotencyStore]:
    """The table in a throwaway schema: parallel runs and the migration tests never see it."""
    schema = f"idem_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(postgres_url, execution_options={"schema_translate_map": {None: schema}})
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        table = IdempotencyKeyRow.metadata.tables[IdempotencyKeyRow.__tablename__]
        await connection.run_sync(IdempotencyKeyRow.metadata.create_all, tables=[table])
    try:
        yield SqlIdempotencyStore(create_session_factory(engine), clock=clock)
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


async def claim(store: SqlIdempotencyStore, key: str = "t:k", fingerprint: str = "fp") -> Claimed:
    outcome = await store.begin(key, fingerprint, 30)
    assert isinstance(outcome, Claimed)
    return outcome


async def test_claim_replay_and_mismatch(store: SqlIdempotencyStore) -> None:
    owner = await claim(store)
    assert await store.begin("t:k", "fp", 30) == InProgress()
    assert await store.begin("t:k", "other", 30) == Mismatch()
    await store.complete(owner, RESPONSE, 60)
    await store.release(owner)  # a kept response is never released
    assert await store.begin("t:k", "fp", 30) == Replay(RESPONSE)


async def test_concurrent_claims_have_exactly_one_winner(store: SqlIdempotencyStore) -> None:
    outcomes = await asyncio.gather(*(store.begin("t:k", "fp", 30) for _ in range(10)))
    assert sum(isinstance(outcome, Claimed) for outcome in outcomes) == 1
    assert outcomes.count(InProgress()) == 9


async def test_expired_rows_are_replaced_and_purged(store: SqlIdempotencyStore, clock: Clock) -> None:
    stale = await claim(store)
    await claim(store, "t:other")
    clock.now += timedelta(seconds=30)
    fresh = await claim(store)
    await store.complete(stale, RESPONSE, 60)  # the lapsed owner writes nothing
    assert await store.begin("t:k", "fp", 30) == InProgress()
    await store.release(fresh)
    await claim(store)
    assert await store.purge_expired() == 1


async def test_a_missing_table_is_reported_as_unavailable(postgres_url: str) -> None:
    engine = create_async_engine(postgres_url, execution_options={"schema_translate_map": {None: "idem_absent"}})
    try:
        with pytest.raises(IdempotencyUnavailable):
            await SqlIdempotencyStore(create_session_factory(engine)).begin("t:k", "fp", 30)
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

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
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
