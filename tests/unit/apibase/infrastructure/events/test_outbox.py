"""SqlOutbox on SQLite: events are rows of the transaction that raised them, as the CloudEvents the relay sends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from apibase.application.cqrs.bus import CommandBus, transactional_buses
from apibase.application.cqrs.messages import BaseCommand
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.core.context import correlation_id
from apibase.core.result import Ok, Result
from apibase.domain.entities import AggregateRoot
from apibase.domain.events import DomainEvent
from apibase.infrastructure.events.outbox import SqlOutbox
from apibase.infrastructure.events.stored_event import read_envelope
from apibase.infrastructure.persistence.events.tables import InboxRow, OutboxEventRow
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work, sql_unit_of_work_factory
from apibase.infrastructure.persistence.tenancy import tenant_scope
from apibase.testing.outbox import ManualClock

pytestmark = pytest.mark.unit


class InvoiceIssued(DomainEvent):
    total: int


class Invoice(AggregateRoot[str]):
    pass


class IssueInvoices(BaseCommand[None]):
    """Writes a row (the change) and raises one event per invoice id."""

    invoice_ids: list[str]


def outbox(clock: ManualClock) -> SqlOutbox:
    return SqlOutbox(source="/billing", topic="billing.events", clock=clock)


def billing_bus(sessions: async_sessionmaker[AsyncSession], store: SqlOutbox) -> CommandBus:
    commands, _ = transactional_buses(sql_unit_of_work_factory(sessions), outbox=store)

    @commands.handler
    async def issue(command: IssueInvoices) -> Result[None, Exception]:
        unit = require_sql_unit_of_work(current_unit_of_work())
        unit.session.add(InboxRow(subscription="billing", event_id="the-change", handled_at=datetime.now(UTC)))
        for invoice_id in command.invoice_ids:
            invoice = Invoice(id=invoice_id)
            invoice.record_event(InvoiceIssued(aggregate_id=invoice_id, total=len(invoice_id)))
            unit.track(invoice)
        return Ok(None)

    return commands


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxEventRow]:
    async with sessions() as session:
        return list((await session.scalars(select(OutboxEventRow).order_by(OutboxEventRow.position))).all())


async def changes(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxRow)) or 0)


async def test_a_committed_command_leaves_one_row_per_event_in_order(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    store = outbox(clock)
    result = await billing_bus(sessions, store).dispatch(IssueInvoices(invoice_ids=["inv-1", "inv-2", "inv-3"]))

    assert result == Ok(None)
    stored = await rows(sessions)
    assert [row.aggregate_id for row in stored] == ["inv-1", "inv-2", "inv-3"]
    assert [row.position for row in stored] == sorted(row.position for row in stored)
    first = stored[0]
    assert (first.event_type, first.topic, first.attempts, first.last_error) == (
        "InvoiceIssued",
        "billing.events",
        0,
        None,
    )
    assert first.created_at == first.next_attempt_at == clock.now
    envelope = read_envelope(first.envelope)
    assert envelope.get_id() == first.event_id
    assert envelope.get_type() == "apibase.InvoiceIssued"
    assert envelope.get_source() == "/billing"
    assert envelope.get_subject() == "inv-1"
    assert envelope.get_data() == {
        "event_id": first.event_id,
        "occurred_at": envelope.get_data()["occurred_at"],  # type: ignore[index]
        "aggregate_id": "inv-1",
        "total": 5,
    }
    assert store.commits.is_set()


async def test_no_commit_no_event(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    store = outbox(clock)
    unit = require_sql_unit_of_work(sql_unit_of_work_factory(sessions)())
    async with unit:
        await store.store(unit, [InvoiceIssued(aggregate_id="inv-1", total=1)])
        await unit.rollback()

    assert await rows(sessions) == []


async def test_a_failing_outbox_insert_keeps_the_change_out_too(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    store = outbox(clock)
    event = InvoiceIssued(aggregate_id="inv-1", total=1)
    unit = require_sql_unit_of_work(sql_unit_of_work_factory(sessions)())
    async with unit:
        await store.store(unit, [event])
        await unit.commit()
    assert await changes(sessions) == 0

    unit = require_sql_unit_of_work(sql_unit_of_work_factory(sessions)())
    async with unit:
        unit.session.add(InboxRow(subscription="billing", event_id="the-change", handled_at=clock.now))
        with pytest.raises(IntegrityError):
            await store.store(unit, [event])  # the same event id again: the insert fails, nothing is committed

    assert await changes(sessions) == 0
    assert len(await rows(sessions)) == 1


async def test_the_envelope_carries_the_span_correlation_and_tenant_of_the_command(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    bus = billing_bus(sessions, outbox(clock))
    provider = TracerProvider()
    token = correlation_id.set("checkout-7")
    try:
        with tenant_scope("acme"), provider.get_tracer("t").start_as_current_span("command") as span:
            await bus.dispatch(IssueInvoices(invoice_ids=["inv-1"]))
    finally:
        correlation_id.reset(token)
        provider.shutdown()

    (row,) = await rows(sessions)
    envelope = read_envelope(row.envelope)
    assert f"-{span.get_span_context().trace_id:032x}-" in str(envelope.get_extension("traceparent"))
    assert envelope.get_extension("correlationid") == "checkout-7"
    assert envelope.get_extension("tenantid") == "acme"
    assert row.tenant_id == "acme"


async def test_nothing_stored_wakes_nobody(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    store = outbox(clock)
    await billing_bus(sessions, store).dispatch(IssueInvoices(invoice_ids=[]))

    assert await rows(sessions) == []
    assert not store.commits.is_set()


def test_a_source_is_required_when_wiring() -> None:
    with pytest.raises(ValueError, match="source is required"):
        SqlOutbox(source="", topic="t")
