"""RequestAudit: one unit of work at most takes a request's entry, gets it back if it did not commit, and none
takes it once the edge has closed it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from apibase.application.in_memory.audit import InMemoryAuditLog
from apibase.application.ports.audit import AuditEntry
from apibase.application.request_audit import RequestAudit

pytestmark = pytest.mark.unit


def forecast(written_id: str | None) -> AuditEntry:
    return AuditEntry(
        id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        actor="alice",
        actor_method=None,
        tenant="acme",
        action="POST /things",
        resource_type="things",
        resource_id=written_id,
        outcome=201,
        request_id=None,
        client_ip=None,
    )


def test_the_entry_is_taken_once_with_the_written_id() -> None:
    audit = RequestAudit(forecast, InMemoryAuditLog())
    taken = audit.take("t-1")
    assert taken is not None
    assert taken.resource_id == "t-1"
    assert audit.take("t-2") is None
    assert audit.close() is taken


def test_an_entry_given_back_can_be_taken_again() -> None:
    audit = RequestAudit(forecast, InMemoryAuditLog())
    first = audit.take("t-1")
    assert first is not None
    audit.give_back(forecast("t-9"))  # not the taken entry: nothing changes
    assert audit.written is first
    audit.give_back(first)
    assert audit.written is None
    second = audit.take("t-2")
    assert second is not None
    assert second.resource_id == "t-2"


def test_nothing_is_taken_after_close() -> None:
    audit = RequestAudit(forecast, InMemoryAuditLog())
    assert audit.close() is None
    assert audit.take("t-1") is None


def test_a_forecast_that_cannot_tell_yet_leaves_the_entry_for_a_later_unit() -> None:
    routed = False
    audit = RequestAudit(lambda written_id: forecast(written_id) if routed else None, InMemoryAuditLog())
    assert audit.take("key-1") is None
    assert audit.written is None
    routed = True
    later = audit.take("t-1")
    assert later is not None
    assert later.resource_id == "t-1"
