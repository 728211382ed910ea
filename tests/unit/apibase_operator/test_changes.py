"""One reconciliation's writes, summarised as the reason and message of one Event."""

from __future__ import annotations

import pytest

from apibase_operator.changes import ChangeLog

pytestmark = pytest.mark.unit


def test_nothing_written_is_nothing_to_tell() -> None:
    assert ChangeLog().summary() is None


def test_one_verb_is_the_reason_and_every_object_is_named() -> None:
    log = ChangeLog()
    log.record("Created", "Deployment", "orders")
    log.record("Created", "Service", "orders")
    assert log.summary() == ("Created", "Created Deployment orders, Service orders")


def test_mixed_writes_are_changed_in_the_order_created_updated_pruned() -> None:
    log = ChangeLog()
    log.record("Pruned", "Deployment", "orders-canary")
    log.record("Updated", "Deployment", "orders")
    log.record("Created", "Secret", "orders-vault")
    assert log.summary() == (
        "Changed",
        "Created Secret orders-vault; Updated Deployment orders; Pruned Deployment orders-canary (no longer desired)",
    )


def test_the_servers_answer_to_an_apply_is_remembered_for_this_reconciliation() -> None:
    log = ChangeLog()
    log.remember("Deployment", "shop", "orders", None)  # no body: nothing to remember
    assert log.written("Deployment", "shop", "orders") is None
    log.remember("Deployment", "shop", "orders", {"kind": "Deployment"})
    assert log.written("Deployment", "shop", "orders") == {"kind": "Deployment"}
    assert log.written("Service", "shop", "orders") is None
