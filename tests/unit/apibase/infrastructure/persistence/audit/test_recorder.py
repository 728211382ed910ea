"""SqlAuditLog on SQLite: entries round-trip, pages go newest first per tenant, long values are clipped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.in_memory.audit import InMemoryAuditLog
from apibase.application.ports.audit import AuditEntry, AuditLog
from apibase.core.principal import AuthMethod
from apibase.core.settings import Settings
from apibase.infrastructure.persistence.audit import AuditLogRow, SqlAuditLog
from apibase.infrastructure.persistence.database import create_engine, create_session_factory

pytestmark = pytest.mark.unit

START = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def entry(tenant: str, minute: int, *, entry_id: uuid.UUID | None = None, **changes: object) -> AuditEntry:
    values: dict[str, object] = {
        "id": entry_id or uuid.uuid4(),
        "occurred_at": START + timedelta(minutes=minute),
        "actor": "alice",
        "actor_method": AuthMethod.ACCESS_TOKEN,
        "tenant": tenant,
        "action": "DELETE /api/v2/products/{product_id}",
        "resource_type": "products",
        "resource_id": "p-1",
        "outcome": 204,
        "request_id": "rid-1",
        "client_ip": "10.0.0.7",
    }
    values.update(changes)
    return AuditEntry(**values)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"))
    async with engine.begin() as connection:
        await connection.run_sync(AuditLogRow.metadata.create_all, tables=[AuditLogRow.__table__])
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture(params=["sql", "memory"])
def log(request: pytest.FixtureRequest, sessions: async_sessionmaker[AsyncSession]) -> AuditLog:
    return SqlAuditLog(sessions) if request.param == "sql" else InMemoryAuditLog()


async def test_an_entry_round_trips_with_every_field(log: AuditLog) -> None:
    written = entry("acme", 0)
    anonymous = entry(
        "acme", 1, actor="anonymous", actor_method=None, resource_id=None, request_id=None, client_ip=None
    )
    await log.record(written)
    await log.record(anonymous)
    assert await log.list("acme", limit=10) == [anonymous, written]


async def test_pages_are_newest_first_and_tenants_never_mix(log: AuditLog) -> None:
    mine = [entry("acme", minute) for minute in (3, 0, 4, 1, 2)]
    theirs = [entry("globex", minute) for minute in (0, 5)]
    for item in [*mine, *theirs]:
        await log.record(item)
    by_time = sorted(mine, key=lambda item: item.occurred_at, reverse=True)
    first = await log.list("acme", limit=2)
    second = await log.list("acme", limit=2, before=first[-1].id)
    third = await log.list("acme", limit=2, before=second[-1].id)
    assert [*first, *second, *third] == by_time
    assert await log.list("acme", limit=2, before=third[-1].id) == []
    assert await log.list("globex", limit=10) == [theirs[1], theirs[0]]
    assert await log.list("acme", limit=10, before=theirs[0].id) == []
    assert await log.list("initech", limit=10) == []


async def test_equal_timestamps_page_by_id_without_skipping(log: AuditLog) -> None:
    ids = sorted(uuid.uuid4() for _ in range(4))
    for entry_id in ids:
        await log.record(entry("acme", 0, entry_id=entry_id))
    first = await log.list("acme", limit=2)
    rest = await log.list("acme", limit=5, before=first[-1].id)
    assert [item.id for item in [*first, *rest]] == ids[::-1]


async def test_limit_must_be_positive(log: AuditLog) -> None:
    with pytest.raises(ValueError, match="limit"):
        await log.list("acme", limit=0)


async def test_long_values_are_clipped_to_the_columns(sessions: async_sessionmaker[AsyncSession]) -> None:
    log = SqlAuditLog(sessions)
    await log.record(entry("acme", 0, action="POST /" + "x" * 2000, resource_id="r" * 300, client_ip="c" * 100))
    (stored,) = await log.list("acme", limit=1)
    assert (len(stored.action), len(stored.resource_id or ""), len(stored.client_ip or "")) == (512, 255, 64)


async def test_each_entry_is_committed_in_its_own_transaction(sessions: async_sessionmaker[AsyncSession]) -> None:
    await SqlAuditLog(sessions).record(entry("acme", 0))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuditLogRow)) == 1


def test_the_table_is_indexed_for_tenant_pages() -> None:
    indexes = {index.name: [column.name for column in index.columns] for index in AuditLogRow.__table__.indexes}
    assert indexes == {"ix_audit_log_tenant_id_occurred_at": ["tenant_id", "occurred_at"]}


async def test_concurrent_entries_share_a_transaction_and_each_is_stored_on_return(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    log = SqlAuditLog(sessions)
    transactions = 0
    factory = sessions.begin

    def counting_begin() -> object:
        nonlocal transactions
        transactions += 1
        return factory()

    sessions.begin = counting_begin  # type: ignore[method-assign,assignment]
    written = [entry("acme", minute) for minute in range(20)]
    await asyncio.gather(*(log.record(item) for item in written))
    assert transactions < len(written)  # the first alone, then the others together
    page = await log.list("acme", limit=50)
    assert {item.id for item in page} == {item.id for item in written}


async def test_a_failed_group_commit_fails_every_entry_in_it(sessions: async_sessionmaker[AsyncSession]) -> None:
    log = SqlAuditLog(sessions)
    duplicate = uuid.uuid4()
    await log.record(entry("acme", 0, entry_id=duplicate))
    results = await asyncio.gather(
        log.record(entry("acme", 1)),
        log.record(entry("acme", 2, entry_id=duplicate)),
        log.record(entry("acme", 3)),
        return_exceptions=True,
    )
    assert results[0] is None  # alone in its transaction
    assert all(isinstance(result, Exception) for result in results[1:])  # shared the failing one
    assert len(await log.list("acme", limit=50)) == 2


async def test_a_cancelled_writer_leaves_its_batch_to_the_next(sessions: async_sessionmaker[AsyncSession]) -> None:
    log = SqlAuditLog(sessions)
    factory = sessions.begin
    calls = 0

    def cancelled_once() -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise asyncio.CancelledError
        return factory()

    sessions.begin = cancelled_once  # type: ignore[method-assign,assignment]
    with pytest.raises(asyncio.CancelledError):
        await log.record(entry("acme", 0))
    await log.record(entry("acme", 1))
    assert len(await log.list("acme", limit=50)) == 2  # the cancelled writer's entry went with the next one
