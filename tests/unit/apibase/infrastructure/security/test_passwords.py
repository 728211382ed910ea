"""Argon2 password hashing: verify, rehash on login when parameters change, one answer for unknown users."""

from __future__ import annotations

import argon2
import pytest

from apibase.core.result import Err, Ok
from apibase.infrastructure.security.passwords import MAX_PASSWORD_LENGTH, PasswordHasher
from apibase.infrastructure.security.tokens import AuthErrorCode, InvalidCredentials

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def test_a_hash_verifies_its_password_only(hasher: PasswordHasher) -> None:
    stored = hasher.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert hasher.verify("correct horse battery staple", stored) == Ok(None)
    wrong = hasher.verify("Tr0ub4dor&3", stored)
    assert isinstance(wrong, Err)
    assert isinstance(wrong.error, InvalidCredentials)
    assert wrong.error.status == 401
    assert wrong.error.code is AuthErrorCode.INVALID_CREDENTIALS


def test_hashes_are_salted(hasher: PasswordHasher) -> None:
    assert hasher.hash("same") != hasher.hash("same")


def test_a_hash_with_old_parameters_is_replaced_on_login(hasher: PasswordHasher) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash("pw")
    result = hasher.verify("pw", old)
    assert isinstance(result, Ok)
    new_hash = result.value
    assert new_hash is not None
    assert "m=1024" in new_hash
    assert hasher.verify("pw", new_hash) == Ok(None)


def test_an_unknown_user_gets_the_same_answer_after_the_same_work(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = hasher.hash("pw")
    checked: list[str] = []
    original = argon2.PasswordHasher.verify

    def spy(self: argon2.PasswordHasher, encoded: str | bytes, password: str | bytes) -> bool:
        checked.append(str(encoded))
        return original(self, encoded, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", spy)
    unknown = hasher.verify("pw", None)
    wrong = hasher.verify("nope", stored)
    assert isinstance(unknown, Err)
    assert isinstance(wrong, Err)
    assert unknown.error == wrong.error  # same class, code and detail
    assert len(checked) == 2
    assert checked[0].startswith("$argon2id$")  # a real Argon2 check ran for the unknown user too
    assert checked[0] != stored


def test_the_dummy_password_never_logs_an_unknown_user_in(hasher: PasswordHasher) -> None:
    assert isinstance(hasher.verify("dummy password for unknown users", None), Err)


def test_a_corrupt_stored_hash_is_a_failed_login(hasher: PasswordHasher) -> None:
    result = hasher.verify("pw", "not-a-hash")
    assert isinstance(result, Err)
    assert result.error.code is AuthErrorCode.INVALID_CREDENTIALS


def test_overlong_passwords_are_refused(hasher: PasswordHasher) -> None:
    too_long = "x" * (MAX_PASSWORD_LENGTH + 1)
    with pytest.raises(ValueError, match="at most"):
        hasher.hash(too_long)
    assert isinstance(hasher.verify(too_long, hasher.hash("pw")), Err)


def test_messages_and_repr_carry_no_password(hasher: PasswordHasher) -> None:
    result = hasher.verify("hunter2-secret", hasher.hash("pw"))
    assert isinstance(result, Err)
    assert "hunter2" not in repr(result) + str(result.error)
    assert repr(hasher) == "PasswordHasher(time_cost=1, memory_cost=1024)"
