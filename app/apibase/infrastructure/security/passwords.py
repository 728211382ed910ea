"""Password hashing with Argon2id: slow on purpose, upgraded on the next login when parameters change.

``verify`` answers an unknown user (no stored hash) by checking against a dummy hash with the same parameters,
so the response time does not reveal which accounts exist. Hashing costs tens of milliseconds of CPU: call it
from a worker thread (``asyncio.to_thread``) in async code.
"""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from apibase.core.errors import UnauthorizedError
from apibase.core.result import Err, Ok, Result
from apibase.infrastructure.security.tokens.errors import InvalidCredentials

__all__ = ["MAX_PASSWORD_LENGTH", "PasswordHasher"]

MAX_PASSWORD_LENGTH = 1024
_DETAIL = "The user name or password is wrong."


class PasswordHasher:
    """Argon2id hashing (argon2-cffi defaults follow RFC 9106's recommendations)."""

    def __init__(self, *, time_cost: int = 3, memory_cost: int = 65_536, parallelism: int = 4) -> None:
        self._argon2 = _Argon2(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        self._dummy_hash = self._argon2.hash("dummy password for unknown users")

    def __repr__(self) -> str:
        params = self._argon2
        return f"PasswordHasher(time_cost={params.time_cost}, memory_cost={params.memory_cost})"

    def hash(self, password: str) -> str:
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValueError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
        return self._argon2.hash(password)

    def verify(self, password: str, stored_hash: str | None) -> Result[str | None, UnauthorizedError]:
        """Ok(new hash) when the stored one uses old parameters and should be replaced, Ok(None) when current.

        ``stored_hash`` None means the user does not exist: the dummy hash is checked anyway and the answer is
        the same ``auth.invalid_credentials`` as for a wrong password.
        """
        if len(password) > MAX_PASSWORD_LENGTH:
            return Err(InvalidCredentials(_DETAIL))
        try:
            self._argon2.verify(self._dummy_hash if stored_hash is None else stored_hash, password)
        except (VerificationError, InvalidHashError):
            return Err(InvalidCredentials(_DETAIL))
        if stored_hash is None:  # the dummy cannot match a real login, but never let it log anyone in
            return Err(InvalidCredentials(_DETAIL))
        if self._argon2.check_needs_rehash(stored_hash):
            return Ok(self._argon2.hash(password))
        return Ok(None)
