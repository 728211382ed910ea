"""SqlAuditLog on the real PostgreSQL: round trip, newest-first pages, tenant separation, clipped values.

The table lives in a schema of its own (``search_path``), dropped afterwards, so no row outlives the test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from apibase.application.ports.audit import AuditEntry
from apibase.core.principal import AuthMethod
from apibase.infrastructure.persistence.audit import SqlAuditLog
from apibase.infrastructure.persistence.schema import metadata
from apibase.testing.postgres import scratch_schema

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def entry(tenant: str, minute: int, *, entry_id: uuid.UUID | None = None, action: str = "POST /things") -> AuditEntry:
    return AuditEntry(
        id=entry_id or uuid.uuid4(),
        occurred_at=START + timedelta(minutes=minute),
        actor="svc-billing",
        actor_method=AuthMethod.SIGNED_REQUEST,
        tenant=tenant,
        action=action,
        resource_type="things",
        resource_id=None,
        outcome=403,
        request_id="rid",
        client_ip="2001:db8::1",
    )


@pytest.fixture
async def log(postgres_url: str) -> AsyncIterator[SqlAuditLog]:
    async with scratch_schema(postgres_url, metadata, prefix="audit") as sessions:
        yield SqlAuditLog(sessions)


async def test_entries_round_trip_and_page_newest_first_per_tenant(log: SqlAuditLog) -> None:
    mine = [entry("acme", minute) for minute in (2, 0, 3, 1)]
    theirs = entry("globex", 9)
    for item in [*mine, theirs]:
        await log.record(item)
    first = await log.list("acme", limit=3)
    rest = await log.list("acme", limit=3, before=first[-1].id)
    assert [*first, *rest] == sorted(mine, key=lambda item: item.occurred_at, reverse=True)
    assert await log.list("globex", limit=10) == [theirs]
    assert await log.list("acme", limit=10, before=theirs.id) == []


async def test_equal_timestamps_page_by_id(log: SqlAuditLog) -> None:
    ids = sorted(uuid.uuid4() for _ in range(3))
    for entry_id in ids:
        await log.record(entry("acme", 0, entry_id=entry_id))
    (newest,) = await log.list("acme", limit=1)
    rest = await log.list("acme", limit=5, before=newest.id)
    assert [newest.id, *(item.id for item in rest)] == ids[::-1]


async def test_values_longer_than_the_columns_are_clipped_not_refused(log: SqlAuditLog) -> None:
    await log.record(entry("acme", 0, action="POST /" + "x" * 1000))
    (stored,) = await log.list("acme", limit=1)
    assert len(stored.action) == 512
