"""The in-memory audit log: newest first per tenant, keyset pages by entry id, aware timestamps only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from apibase.application.in_memory.audit import InMemoryAuditLog
from apibase.application.ports.audit import ANONYMOUS, AuditEntry

pytestmark = pytest.mark.unit

START = datetime(2026, 1, 1, tzinfo=UTC)


def entry(tenant: str, minute: int, *, entry_id: uuid.UUID | None = None) -> AuditEntry:
    return AuditEntry(
        id=entry_id or uuid.uuid4(),
        occurred_at=START + timedelta(minutes=minute),
        actor=ANONYMOUS,
        actor_method=None,
        tenant=tenant,
        action="POST /things",
        resource_type="things",
        resource_id=None,
        outcome=401,
        request_id=None,
        client_ip=None,
    )


async def test_lists_one_tenant_newest_first_in_pages() -> None:
    log = InMemoryAuditLog()
    mine = [entry("acme", minute) for minute in range(5)]
    for item in [*mine, entry("other", 10)]:
        await log.record(item)
    assert len(log) == 6
    first = await log.list("acme", limit=2)
    assert first == [mine[4], mine[3]]
    assert await log.list("acme", limit=10, before=first[-1].id) == [mine[2], mine[1], mine[0]]
    assert await log.list("acme", limit=10, before=mine[0].id) == []


async def test_equal_timestamps_are_ordered_by_id_so_pages_never_skip() -> None:
    log = InMemoryAuditLog()
    ids = sorted(uuid.uuid4() for _ in range(3))
    for entry_id in ids:
        await log.record(entry("acme", 0, entry_id=entry_id))
    (newest,) = await log.list("acme", limit=1)
    assert newest.id == ids[-1]
    assert [e.id for e in await log.list("acme", limit=5, before=newest.id)] == [ids[1], ids[0]]


async def test_another_tenants_cursor_gives_nothing() -> None:
    log = InMemoryAuditLog()
    theirs = entry("other", 0)
    await log.record(theirs)
    await log.record(entry("acme", -1))
    assert await log.list("acme", limit=5, before=theirs.id) == []


async def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        await InMemoryAuditLog().list("acme", limit=0)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AuditEntry(uuid.uuid4(), datetime(2026, 1, 1), ANONYMOUS, None, "acme", "POST /x", "x", None, 201, None, None)
