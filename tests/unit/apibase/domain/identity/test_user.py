"""Users: normalised emails, valid tenants and roles, and the lockout rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from apibase.domain.identity import User, UserId, normalise_email, password_problem

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LOCKOUT = timedelta(minutes=15)


def user(**changes: object) -> User:
    data: dict[str, object] = {
        "id": UserId.new(),
        "tenant": "acme",
        "email": "Ada@Example.com",
        "password_hash": "hash",
        "roles": ["viewer"],
    }
    return User.model_validate(data | changes)


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert normalise_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
    assert user().email == "ada@example.com"


@pytest.mark.parametrize(
    "email", ["", "ada", "ada@", "@example.com", "a b@example.com", "ada@example", "x" * 250 + "@e.co"]
)
def test_invalid_emails_are_refused_without_echoing_them(email: str) -> None:
    with pytest.raises(ValueError, match="email") as caught:
        normalise_email(email)
    assert email.strip() == "" or email not in str(caught.value)
    with pytest.raises(ValidationError):
        user(email=email)


@pytest.mark.parametrize("tenant", ["", "Acme", "-acme", "a" * 64, "ac me"])
def test_tenants_are_slugs(tenant: str) -> None:
    with pytest.raises(ValidationError, match="tenant"):
        user(tenant=tenant)


def test_roles_are_well_formed_unique_and_ordered() -> None:
    assert user(roles=["editor", "admin", "editor"]).roles == ("admin", "editor")
    with pytest.raises(ValidationError, match="role name"):
        user(roles=["Admin"])
    member = user()
    member.assign_roles(["editor"])
    assert member.has_role("editor")
    assert not member.has_role("viewer")
    with pytest.raises(ValueError, match="role name"):
        member.assign_roles(["root user"])


def test_the_password_policy_is_about_length() -> None:
    assert password_problem("a" * 12) is None
    assert password_problem("a" * 128) is None
    assert password_problem("a" * 11) is not None
    assert password_problem("a" * 129) is not None


def test_the_password_hash_stays_out_of_the_repr() -> None:
    assert "hash" not in repr(user(password_hash="secret-hash-value")).replace("password_hash", "")


def test_failures_lock_the_account_at_the_limit_and_start_over() -> None:
    member = user()
    member.record_failed_login(NOW, max_failures=3, lockout=LOCKOUT)
    member.record_failed_login(NOW, max_failures=3, lockout=LOCKOUT)
    assert (member.failed_logins, member.is_locked(NOW)) == (2, False)

    member.record_failed_login(NOW, max_failures=3, lockout=LOCKOUT)

    assert (member.failed_logins, member.locked_until) == (0, NOW + LOCKOUT)
    assert member.is_locked(NOW + LOCKOUT - timedelta(microseconds=1))
    assert not member.is_locked(NOW + LOCKOUT)


def test_lock_time_left_rounds_up_to_whole_seconds() -> None:
    member = user(locked_until=NOW + timedelta(seconds=10))
    assert member.seconds_locked(NOW) == 10
    assert member.seconds_locked(NOW + timedelta(seconds=0.5)) == 10
    assert member.seconds_locked(NOW + timedelta(seconds=10)) == 0
    assert user().seconds_locked(NOW) == 0


def test_a_success_resets_failures_and_says_whether_anything_changed() -> None:
    member = user(failed_logins=2, locked_until=NOW)
    assert member.record_successful_login()
    assert (member.failed_logins, member.locked_until) == (0, None)
    assert not member.record_successful_login()


def test_changing_the_password_hash() -> None:
    member = user()
    member.change_password_hash("new-hash")
    assert member.password_hash == "new-hash"
