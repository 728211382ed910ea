"""Idempotency keys in the Dapr sidecar's state store: the claim is a first-write, every change an ETag check.

The record is the Redis store's JSON (``apibase.infrastructure.idempotency.records``). ``begin`` saves the
pending record with first-write concurrency and no ETag, so exactly one caller creates the key (the others read
what is there); ``ttlInSeconds`` is the lease. ``complete`` and
``release`` read the entry, and write or delete it with its ETag only while it is still this claim's pending
record: a claim whose lease lapsed (and whose key another request took) changes nothing. Unavailability of the
sidecar or store is ``IdempotencyUnavailable``.
"""

from __future__ import annotations

import json
import secrets
from typing import Final

from apibase.application.ports.idempotency import (
    BeginOutcome,
    Claimed,
    IdempotencyUnavailable,
    InProgress,
    StoredResponse,
)
from apibase.infrastructure.dapr.state import DaprState, StateConflictError, StateUnavailableError
from apibase.infrastructure.idempotency.records import completed_record, outcome_of, pending_record

__all__ = ["DaprIdempotencyStore"]

_UNAVAILABLE_DETAIL: Final = "The idempotency store (the Dapr state store) cannot be reached; retry the request later."
#: A claim that loses the race to an entry which then expires before it is read tries again, this many times.
_CLAIM_TRIES: Final = 3


class DaprIdempotencyStore:
    """``IdempotencyStore`` on a Dapr state store, every key under ``key_prefix`` (no ``||``: Dapr reserves it)."""

    def __init__(self, state: DaprState, *, key_prefix: str = "apibase-idempotency:") -> None:
        self._state = state
        self._prefix = key_prefix

    async def begin(self, key: str, fingerprint: str, lease_seconds: int) -> BeginOutcome:
        claim = Claimed(key, fingerprint, secrets.token_hex(16))
        try:
            for _ in range(_CLAIM_TRIES):
                try:
                    await self._state.save(self._prefix + key, _pending(claim), etag=None, ttl_seconds=lease_seconds)
                except StateConflictError:
                    entry = await self._state.get(self._prefix + key)
                    if entry is not None:
                        return outcome_of(json.loads(entry.data), fingerprint)
                else:
                    return claim
        except StateUnavailableError as error:
            raise IdempotencyUnavailable(_UNAVAILABLE_DETAIL) from error
        return InProgress()  # the key keeps changing hands: as busy as it gets

    async def complete(self, claim: Claimed, response: StoredResponse, ttl_seconds: int) -> None:
        try:
            entry = await self._state.get(self._prefix + claim.key)
            if entry is not None and entry.data == _pending(claim):
                await self._state.save(
                    self._prefix + claim.key,
                    completed_record(claim, response).encode(),
                    etag=entry.etag,
                    ttl_seconds=ttl_seconds,
                )
        except StateConflictError:
            return  # the claim lapsed and the key moved on: nothing of ours to finish
        except StateUnavailableError as error:
            raise IdempotencyUnavailable(_UNAVAILABLE_DETAIL) from error

    async def release(self, claim: Claimed) -> None:
        try:
            entry = await self._state.get(self._prefix + claim.key)
            if entry is not None and entry.data == _pending(claim):
                await self._state.delete(self._prefix + claim.key, etag=entry.etag)
        except StateConflictError:
            return
        except StateUnavailableError as error:
            raise IdempotencyUnavailable(_UNAVAILABLE_DETAIL) from error


def _pending(claim: Claimed) -> bytes:
    return pending_record(claim).encode()
