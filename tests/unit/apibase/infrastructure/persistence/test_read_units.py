"""Read units run repository reads on one Core connection: one transaction, one ROLLBACK, no ORM session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import PoolResetState

from apibase.application.cursor import CursorCodec
from apibase.application.pagination import CountStrategy
from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.read_only import read_only_engine, read_only_session_factory
from apibase.infrastructure.persistence.tenancy import tenant_scope
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.testing.sqlite_trace import trace_statements
from apibase.testing.suppliers import CompanyCreate, SupplierRepository, sample_metadata

pytestmark = pytest.mark.unit

CODEC = CursorCodec("read-units-cursor-secret")


class CountedSession(AsyncSession):
    made = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        CountedSession.made += 1
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}"))
    async with engine.begin() as connection:
        await connection.run_sync(sample_metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Three suppliers of acme, one of them deleted, one of globex."""
    factory = async_sessionmaker(engine, class_=CountedSession, expire_on_commit=False, autoflush=False)
    for tenant, names in (("acme", ["Anvil", "Bolt", "Cog"]), ("globex", ["Dynamo"])):
        with tenant_scope(tenant):
            async with SQLAlchemyUnitOfWork(factory) as uow:
                made = [await SupplierRepository(uow, cursor_codec=CODEC).create(_company(name)) for name in names]
                if tenant == "acme":
                    await SupplierRepository(uow, cursor_codec=CODEC).delete(made[-1].id)
                await uow.commit()
    return factory


def _company(name: str) -> CompanyCreate:
    return CompanyCreate(name=name, country="DE")


def test_only_a_read_only_factory_has_a_read_engine(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    assert read_only_engine(sessions) is None
    assert read_only_engine(read_only_session_factory(sessions)) is not None


async def test_a_read_unit_lists_and_counts_in_one_transaction_without_a_session(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    executed: list[str] = []
    await engine.dispose()  # the connections opened from now on report what SQLite runs
    trace_statements(engine, executed)
    resets: list[PoolResetState] = []
    event.listen(engine.sync_engine.pool, "reset", lambda connection, record, state: resets.append(state))
    made = CountedSession.made

    with tenant_scope("acme"):
        async with SQLAlchemyUnitOfWork(read_only_session_factory(sessions)) as uow:
            page = await SupplierRepository(uow, cursor_codec=CODEC).get_all(limit=1)

    assert (page.total, page.has_next, len(page.items)) == (2, True, 1)
    statements = [statement.split()[0] for statement in executed if not statement.startswith("PRAGMA")]
    assert statements == ["BEGIN", "SELECT", "SELECT", "ROLLBACK"]  # deferred; one snapshot for the page and count
    assert [state.transaction_was_reset for state in resets] == [True]  # the pool sent no second ROLLBACK
    assert CountedSession.made == made


async def test_a_read_unit_keeps_tenancy_and_soft_delete(sessions: async_sessionmaker[AsyncSession]) -> None:
    reading = read_only_session_factory(sessions)
    with tenant_scope("acme"):
        async with SQLAlchemyUnitOfWork(reading) as uow:
            repository = SupplierRepository(uow, cursor_codec=CODEC)
            everything = await repository.get_all(include_deleted=True)
            live = await repository.get_all(count=CountStrategy.ESTIMATED)
    deleted = next(item for item in everything.items if item.name == "Cog")
    assert (sorted(item.name for item in live.items), live.total) == (["Anvil", "Bolt"], 2)
    with tenant_scope("acme"):
        async with SQLAlchemyUnitOfWork(reading) as uow:
            repository = SupplierRepository(uow, cursor_codec=CODEC)
            assert await repository.get_by_id(deleted.id) is None
            assert await repository.get_by_id(deleted.id, include_deleted=True) == deleted
    with tenant_scope("globex"):
        async with SQLAlchemyUnitOfWork(reading) as uow:
            repository = SupplierRepository(uow, cursor_codec=CODEC)
            assert await repository.get_by_id(live.items[0].id) is None
            assert [item.name for item in (await repository.get_all()).items] == ["Dynamo"]


async def test_a_session_asked_for_later_joins_the_read_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with tenant_scope("acme"):
        async with SQLAlchemyUnitOfWork(read_only_session_factory(sessions)) as uow:
            before = await SupplierRepository(uow, cursor_codec=CODEC).count()
            async with SQLAlchemyUnitOfWork(sessions) as writer:  # commits while the read's snapshot is open
                await SupplierRepository(writer, cursor_codec=CODEC).create(_company("Drill"))
                await writer.commit()
            after = await uow.session.execute(
                text("SELECT count(*) FROM sample_suppliers WHERE deleted_at IS NULL AND tenant_id = 'acme'")
            )
            assert (before, after.scalar_one()) == (2, 2)  # the session read the same snapshot
        async with SQLAlchemyUnitOfWork(read_only_session_factory(sessions)) as uow:
            assert await SupplierRepository(uow, cursor_codec=CODEC).count() == 3


async def test_a_read_unit_commits_and_rolls_back_its_connection(sessions: async_sessionmaker[AsyncSession]) -> None:
    with tenant_scope("acme"):
        async with SQLAlchemyUnitOfWork(read_only_session_factory(sessions)) as uow:
            repository = SupplierRepository(uow, cursor_codec=CODEC)
            assert await repository.count() == 2
            await uow.rollback()
            assert await repository.count() == 2  # a new transaction began on the same connection
            await uow.commit()
        with pytest.raises(RuntimeError, match="not active"):
            await uow.execute(text("SELECT 1"))
