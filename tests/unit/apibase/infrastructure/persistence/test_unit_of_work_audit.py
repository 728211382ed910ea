"""A write unit's commit carries the request's audit entry: one transaction for the change and its entry, once per
request, only into the audit log's own database, and never when the change is not committed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from apibase.application.cursor import CursorCodec
from apibase.application.ports.audit import AuditEntry
from apibase.application.request_audit import RequestAudit, request_audit
from apibase.core.settings import Settings
from apibase.infrastructure.persistence.audit import AuditLogRow, SqlAuditLog
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.read_only import read_only_session_factory
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork
from apibase.testing.sql import WidgetRow, WidgetSqlRepository, widget_metadata
from apibase.testing.sqlite_trace import trace_statements
from apibase.testing.widgets import WidgetCreate, WidgetUpdate

pytestmark = pytest.mark.unit

CODEC = CursorCodec("unit-of-work-audit-cursor-secret")
GEAR = WidgetCreate(name="Gear", price=Decimal("9.99"), quantity=1)


async def database(path: Path) -> AsyncEngine:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    async with engine.begin() as connection:
        await connection.run_sync(widget_metadata.create_all)
        await connection.run_sync(AuditLogRow.metadata.create_all, tables=[AuditLogRow.__table__])
    return engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await database(tmp_path / "unit.db")
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


def forecast(written_id: str | None, *, entry_id: uuid.UUID | None = None) -> AuditEntry:
    return AuditEntry(
        id=entry_id or uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        actor="alice",
        actor_method=None,
        tenant="acme",
        action="POST /widgets",
        resource_type="widgets",
        resource_id=written_id,
        outcome=201,
        request_id="r1",
        client_ip=None,
    )


async def create_widget(sessions: async_sessionmaker[AsyncSession], *, commit: bool = True) -> uuid.UUID:
    async with SQLAlchemyUnitOfWork(sessions) as uow:
        widget = await WidgetSqlRepository(uow, cursor_codec=CODEC).create(GEAR)
        if commit:
            await uow.commit()
    return widget.id


async def stored(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[AuditEntry], int]:
    async with sessions() as session:
        widgets = len((await session.scalars(select(WidgetRow.id))).all())
    return await SqlAuditLog(sessions).list("acme", limit=10), widgets


async def test_the_entry_is_written_in_the_transaction_of_the_change(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    executed: list[str] = []
    await engine.dispose()  # the connections opened from now on report what SQLite runs
    trace_statements(engine, executed)
    audit = RequestAudit(forecast, SqlAuditLog(sessions))
    token = request_audit.set(audit)
    try:
        created = await create_widget(sessions)
    finally:
        request_audit.reset(token)

    statements = [" ".join(s.split()[:3]) for s in executed if not s.startswith("PRAGMA")]
    assert statements == ["BEGIN IMMEDIATE", "INSERT INTO contract_widgets", "INSERT INTO audit_log", "COMMIT"]
    (entry,), widgets = await stored(sessions)
    assert (entry, widgets) == (audit.written, 1)
    assert entry.resource_id == str(created)  # a create's id: what its Location will name


async def test_the_forecast_names_the_inserted_entity_not_an_updated_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    existing = await create_widget(sessions)
    audit = RequestAudit(forecast, SqlAuditLog(sessions))
    token = request_audit.set(audit)
    try:
        async with SQLAlchemyUnitOfWork(sessions) as uow:  # an order: takes a product's stock, then is added
            widgets = WidgetSqlRepository(uow, cursor_codec=CODEC)
            await widgets.update(existing, WidgetUpdate(quantity=0))
            created = await widgets.create(GEAR)
            await uow.commit()
    finally:
        request_audit.reset(token)
    (entry,), _ = await stored(sessions)
    assert entry.resource_id == str(created.id)


async def test_only_the_first_committing_unit_carries_the_entry(sessions: async_sessionmaker[AsyncSession]) -> None:
    audit = RequestAudit(forecast, SqlAuditLog(sessions))
    token = request_audit.set(audit)
    try:
        first = await create_widget(sessions)
        await create_widget(sessions)
    finally:
        request_audit.reset(token)
    entries, widgets = await stored(sessions)
    assert ([entry.resource_id for entry in entries], widgets) == ([str(first)], 2)


async def test_no_entry_rides_on_a_unit_that_does_not_commit_or_after_the_response(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    audit = RequestAudit(forecast, SqlAuditLog(sessions))
    token = request_audit.set(audit)
    try:
        await create_widget(sessions, commit=False)
        async with SQLAlchemyUnitOfWork(read_only_session_factory(sessions)) as reading:
            await reading.commit()  # a read unit never writes
        assert audit.close() is None
        await create_widget(sessions)  # a commit after the response (a task the request started)
    finally:
        request_audit.reset(token)
    assert await stored(sessions) == ([], 1)


async def test_a_commit_that_fails_writes_neither_and_gives_the_entry_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    taken = uuid.uuid4()
    log = SqlAuditLog(sessions)
    await log.record(forecast(None, entry_id=taken))
    audit = RequestAudit(lambda written_id: forecast(written_id, entry_id=taken), log)  # the id is taken
    token = request_audit.set(audit)
    try:
        with pytest.raises(IntegrityError):
            await create_widget(sessions)
    finally:
        request_audit.reset(token)
    entries, widgets = await stored(sessions)
    assert (len(entries), widgets, audit.written) == (1, 0, None)


async def test_while_a_group_commit_is_under_way_the_entry_is_left_to_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    log = SqlAuditLog(sessions)
    audit = RequestAudit(forecast, log)
    token = request_audit.set(audit)
    try:
        async with log._writing:  # another request's entries being committed
            await create_widget(sessions)
    finally:
        request_audit.reset(token)
    assert audit.written is None
    assert await stored(sessions) == ([], 1)


async def test_a_log_in_another_database_is_left_to_the_edge(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    elsewhere = await database(tmp_path / "elsewhere.db")
    try:
        audit = RequestAudit(forecast, SqlAuditLog(create_session_factory(elsewhere)))
        token = request_audit.set(audit)
        try:
            await create_widget(sessions)
        finally:
            request_audit.reset(token)
    finally:
        await elsewhere.dispose()
    assert audit.written is None
    assert await stored(sessions) == ([], 1)
