"""API keys: the secret's shape, its hash, validity, revocation and the grace-period expiry."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from apibase.domain.identity import ApiKey, UserId, hash_secret, prefix_of
from apibase.domain.identity.api_key import LAST_USED_RESOLUTION

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def issue(expires_in: timedelta | None = None) -> tuple[ApiKey, str]:
    return ApiKey.issue(user_id=UserId.new(), tenant="acme", name=" ci ", now=NOW, expires_in=expires_in)


def test_the_secret_carries_its_public_prefix_and_only_its_hash_is_kept() -> None:
    key, secret = issue()

    assert secret.startswith(f"ab_{key.prefix}_")
    assert prefix_of(secret) == key.prefix
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest() == hash_secret(secret)
    assert secret not in repr(key)
    assert key.secret_hash not in repr(key)
    assert key.name == "ci"
    assert len(secret) > 50


def test_two_keys_never_share_a_prefix_or_secret() -> None:
    (first, one), (second, two) = issue(), issue()
    assert first.prefix != second.prefix
    assert one != two


def test_matches_only_its_own_secret() -> None:
    key, secret = issue()
    assert key.matches(secret)
    assert not key.matches(secret[:-1])
    assert not key.matches(issue()[1])


@pytest.mark.parametrize(
    "text",
    ["", "ab", "ab_", "xy_0123456789abcdef_rest", "ab_0123456789abcdeg_rest", "ab_0123_rest", "ab_0123456789abcdef_"],
)
def test_text_of_another_shape_has_no_prefix(text: str) -> None:
    assert prefix_of(text) is None


def test_validity_ends_with_expiry_or_revocation() -> None:
    key, _ = issue(timedelta(hours=1))
    assert key.is_valid(NOW)
    assert not key.is_valid(NOW + timedelta(hours=1))

    key.revoke(NOW)
    key.revoke(NOW + timedelta(minutes=1))
    assert key.revoked_at == NOW
    assert not key.is_valid(NOW)


def test_a_lifetime_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        issue(timedelta(0))


def test_expire_by_only_ever_shortens() -> None:
    forever, _ = issue()
    forever.expire_by(NOW + timedelta(days=1))
    assert forever.expires_at == NOW + timedelta(days=1)

    short, _ = issue(timedelta(minutes=5))
    short.expire_by(NOW + timedelta(days=1))
    assert short.expires_at == NOW + timedelta(minutes=5)


def test_use_is_recorded_at_most_once_per_resolution() -> None:
    key, _ = issue()
    assert key.use_is_worth_recording(NOW)
    key.last_used_at = NOW
    assert not key.use_is_worth_recording(NOW + LAST_USED_RESOLUTION - timedelta(seconds=1))
    assert key.use_is_worth_recording(NOW + LAST_USED_RESOLUTION)
