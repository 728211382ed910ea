"""Round trips per unit of work on the real PostgreSQL: the pre-ping is one ``;``, a read unit is one transaction
around its statements, a write unit one transaction, and a dead pooled connection is still replaced."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from apibase.application.cursor import CursorCodec
from apibase.core.settings import DatabaseSettings, load_settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.read_only import read_only_session_factory
from apibase.infrastructure.persistence.tenancy import tenant_scope
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.testing.postgres_trace import trace_round_trips
from apibase.testing.suppliers import Company, CompanyCreate, SupplierRepository, SupplierRow, sample_metadata

pytestmark = pytest.mark.integration

CODEC = CursorCodec("postgres-round-trips-cursor-secret")
PING = ";"


async def _engine(postgres_url: str, schema: str) -> AsyncEngine:
    """The service's engine (one pooled connection) on ``schema``: it connects there, and the tables are made."""
    engine = create_engine(load_settings(database_url=postgres_url, database=DatabaseSettings(pool_size=1)))

    @event.listens_for(engine.sync_engine, "do_connect")
    def settings(dialect: Dialect, record: ConnectionPoolEntry, cargs: object, cparams: dict[str, object]) -> None:
        cparams["server_settings"] = {**cparams["server_settings"], "search_path": schema}  # type: ignore[dict-item]

    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()  # connect again with the schema on the search path
    async with engine.begin() as connection:
        await connection.run_sync(sample_metadata.create_all)
    return engine


@pytest.fixture
def schema() -> str:
    return f"trips_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def engine(postgres_url: str, schema: str) -> AsyncIterator[AsyncEngine]:
    engine = await _engine(postgres_url, schema)
    yield engine
    async with engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> Company:
    with tenant_scope("acme"):
        async with SQLAlchemyUnitOfWork(sessions) as uow:
            made = await SupplierRepository(uow, cursor_codec=CODEC).create(CompanyCreate(name="Anvil", country="DE"))
            await uow.commit()
    return made


async def _traced(engine: AsyncEngine, trips: list[str]) -> None:
    """From now on every connection reports its round trips; the pooled one is opened (and prepared) again."""
    await engine.dispose()
    trace_round_trips(engine, trips)


async def _read(sessions: async_sessionmaker[AsyncSession], company: Company) -> None:
    """A get by id and a first page of one row (of two: so the page counts them), each in a read unit, as
    ``GenericService.get`` and ``list`` run them."""
    with tenant_scope("acme"):
        async with SQLAlchemyUnitOfWork(sessions) as uow:
            assert await SupplierRepository(uow, cursor_codec=CODEC).get_by_id(company.id) == company
        async with SQLAlchemyUnitOfWork(sessions) as uow:
            page = await SupplierRepository(uow, cursor_codec=CODEC).get_all(limit=1)
            assert (page.total, len(page.items), page.has_next) == (2, 1, True)


def _first_words(trips: list[str]) -> list[str]:
    return [trip.split()[0] for trip in trips]


async def test_a_read_unit_sends_one_ping_and_one_transaction(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    company, _ = await _seed(sessions), await _seed(sessions)
    reading = read_only_session_factory(sessions)
    trips: list[str] = []
    await _traced(engine, trips)
    await _read(reading, company)  # a new connection: not pinged, its statements prepared
    trips.clear()

    await _read(reading, company)

    # The pool's pre-ping one ';' instead of BEGIN, ';', ROLLBACK, and no statement prepared twice. The reads keep
    # their transaction: in autocommit they made the pool's tail under 64 clients twice as long (docs/performance.md).
    assert _first_words(trips) == [
        *(PING, "BEGIN;", "SELECT", "ROLLBACK;"),
        *(PING, "BEGIN;", "SELECT", "SELECT", "ROLLBACK;"),
    ]


async def test_a_write_unit_keeps_its_transaction_and_pings_once(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    await _seed(sessions)
    trips: list[str] = []
    await _traced(engine, trips)
    await _seed(sessions)
    trips.clear()

    await _seed(sessions)

    assert _first_words([trip for trip in trips if not trip.startswith("PREPARE")]) == [
        PING,
        "BEGIN;",
        "INSERT",
        "COMMIT;",
    ]


async def test_a_session_on_a_read_unit_writes_in_a_transaction_that_is_undone(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    company = await _seed(sessions)
    with tenant_scope("acme"):
        async with SQLAlchemyUnitOfWork(read_only_session_factory(sessions)) as uow:
            assert await SupplierRepository(uow, cursor_codec=CODEC).get_by_id(company.id) == company
            await SupplierRepository(uow, cursor_codec=CODEC).create(CompanyCreate(name="Bolt", country="DE"))
            assert uow.session.in_transaction()
        # left without a commit: the write is gone, as it was when the whole read unit was one transaction
        async with SQLAlchemyUnitOfWork(sessions) as uow:
            names = (await uow.session.execute(select(SupplierRow.name))).scalars().all()
    assert names == ["Anvil"]


async def test_the_ping_still_replaces_a_dead_connection(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    company, _ = await _seed(sessions), await _seed(sessions)
    reading = read_only_session_factory(sessions)
    async with engine.connect() as killer:  # holds the pool's one connection
        async with engine.connect() as victim:  # an overflow connection, kept by the pool when it comes back
            dead = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": dead})

    await _read(reading, company)  # the ping finds the pooled connection closed; the pool opens a new one

    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one() != dead
