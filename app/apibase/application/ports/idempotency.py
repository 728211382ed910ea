"""The idempotency-key port: claim a key once, keep the response, replay it to retries (Requirement 11.7).

A client that retries a POST after a timeout cannot know whether the first attempt ran; with an
``Idempotency-Key`` the server runs the request at most once per key and answers every retry with the first
response. The store behind this port does the one thing that must be atomic across workers: ``begin`` either
claims a key for this caller or reports what is already there. Adapters: ``InMemoryIdempotencyStore``
(one process), ``RedisIdempotencyStore`` and ``SqlIdempotencyStore`` (shared by every worker and replica).

Every method may raise ``IdempotencyUnavailable`` when the backend cannot answer; anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol

from apibase.core.error_codes import error_codes
from apibase.core.errors import ApplicationError, BadRequestError, ConflictError, DependencyUnavailable

__all__ = [
    "BeginOutcome",
    "Claimed",
    "IdempotencyErrorCode",
    "IdempotencyInProgress",
    "IdempotencyKeyInvalid",
    "IdempotencyKeyReused",
    "IdempotencyResponseNotStored",
    "IdempotencyStore",
    "IdempotencyUnavailable",
    "InProgress",
    "Mismatch",
    "Replay",
    "StoredResponse",
]


@error_codes("idempotency")
class IdempotencyErrorCode(StrEnum):
    INVALID_KEY = "idempotency.invalid_key"
    KEY_REUSED = "idempotency.key_reused"
    IN_PROGRESS = "idempotency.in_progress"
    RESPONSE_NOT_STORED = "idempotency.response_not_stored"
    UNAVAILABLE = "idempotency.unavailable"


class IdempotencyKeyInvalid(BadRequestError):  # noqa: N818 - reads as the verdict it reports
    """The ``Idempotency-Key`` header is empty, too long, repeated or not visible ASCII."""

    title = "Invalid idempotency key"
    default_code: ClassVar[StrEnum] = IdempotencyErrorCode.INVALID_KEY


class IdempotencyKeyReused(ApplicationError[StrEnum]):
    """The key was used before for a different request: a client bug, never safe to run or to replay."""

    status = 422
    title = "Idempotency key reused"
    default_code: ClassVar[StrEnum] = IdempotencyErrorCode.KEY_REUSED


class IdempotencyInProgress(ConflictError):  # noqa: N818 - reads as the verdict it reports
    """The first request with this key is still running; retry shortly to get its response."""

    title = "Request in progress"
    default_code: ClassVar[StrEnum] = IdempotencyErrorCode.IN_PROGRESS


class IdempotencyResponseNotStored(ConflictError):  # noqa: N818 - reads as the verdict it reports
    """The request ran, but its response was too large to keep: re-running it is exactly what must not happen."""

    title = "Idempotent response not stored"
    default_code: ClassVar[StrEnum] = IdempotencyErrorCode.RESPONSE_NOT_STORED


class IdempotencyUnavailable(DependencyUnavailable):
    """The idempotency store cannot answer, so a keyed request cannot be run safely now."""

    title = "Idempotency store unavailable"
    default_code: ClassVar[StrEnum] = IdempotencyErrorCode.UNAVAILABLE


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A finished response: headers as latin-1 text pairs (byte-exact); ``body=None`` when it was too large."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """This caller owns the key now; ``token`` proves it, so a late writer never overwrites another claim."""

    key: str
    fingerprint: str
    token: str


@dataclass(frozen=True, slots=True)
class InProgress:
    """Another request holds the key and has not finished."""


@dataclass(frozen=True, slots=True)
class Replay:
    """The key's request finished with the same fingerprint: answer with ``response``."""

    response: StoredResponse


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key is taken by a request with a different fingerprint."""


type BeginOutcome = Claimed | InProgress | Replay | Mismatch


class IdempotencyStore(Protocol):
    """Atomic claims on keys, with expiry; an expired entry counts as absent.

    ``begin`` claims ``key`` for ``lease_seconds`` (how long a crashed worker's claim blocks the key), or reports
    what holds it. ``complete`` keeps the response for ``ttl_seconds`` from now; ``release`` drops an unfinished
    claim so the client may retry. Both act only while ``claim`` still owns the key.
    """

    async def begin(self, key: str, fingerprint: str, lease_seconds: int) -> BeginOutcome: ...

    async def complete(self, claim: Claimed, response: StoredResponse, ttl_seconds: int) -> None: ...

    async def release(self, claim: Claimed) -> None: ...
