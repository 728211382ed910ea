"""Refresh sessions are usable once; revocation and expiry end them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apibase.domain.identity import RefreshSession, RefreshVerdict, UserId

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def start() -> RefreshSession:
    return RefreshSession.start(user_id=UserId.new(), tenant="acme", now=NOW, expires_at=NOW + timedelta(days=1))


def test_a_new_session_starts_a_family_and_a_successor_continues_it() -> None:
    first = start()
    successor = RefreshSession.start(
        user_id=first.user_id, tenant="acme", now=NOW, expires_at=NOW + timedelta(days=1), family=first.family
    )
    assert first.jti == first.id
    assert successor.family == first.family
    assert successor.id != first.id
    assert start().family != first.family


def test_a_session_is_usable_once() -> None:
    session = start()
    assert session.verdict(NOW) is RefreshVerdict.USABLE

    session.consume(NOW)

    assert session.used_at == NOW
    assert session.verdict(NOW) is RefreshVerdict.REUSED
    with pytest.raises(ValueError, match="usable"):
        session.consume(NOW)


def test_expiry_and_revocation_end_it_and_revocation_wins() -> None:
    session = start()
    assert session.verdict(NOW + timedelta(days=1)) is RefreshVerdict.EXPIRED

    session.consume(NOW)
    session.revoke(NOW)
    session.revoke(NOW + timedelta(seconds=1))

    assert session.revoked_at == NOW
    assert session.verdict(NOW) is RefreshVerdict.REVOKED
