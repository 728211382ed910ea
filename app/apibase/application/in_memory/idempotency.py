"""A bounded in-process idempotency store: one worker only, for tests and single-process deployments.

A lock makes claim-or-read atomic even if the store is shared across threads. The bound is a trade: when
``max_entries`` is reached the oldest entries go first, and a key evicted early no longer protects its request,
so size it for the traffic of one TTL window (or use the Redis or SQL store).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from apibase.application.ports.idempotency import BeginOutcome, Claimed, InProgress, Mismatch, Replay, StoredResponse

__all__ = ["InMemoryIdempotencyStore"]


@dataclass(frozen=True, slots=True)
class _Entry:
    fingerprint: str
    token: str
    response: StoredResponse | None
    expires_at: float


class InMemoryIdempotencyStore:
    """``IdempotencyStore`` in a dictionary; ``clock`` is injectable so tests can expire entries."""

    def __init__(self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    async def begin(self, key: str, fingerprint: str, lease_seconds: int) -> BeginOutcome:
        with self._lock:
            now = self._clock()
            entry = self._entries.get(key)
            if entry is not None and entry.expires_at > now:
                if entry.fingerprint != fingerprint:
                    return Mismatch()
                return InProgress() if entry.response is None else Replay(entry.response)
            claim = Claimed(key, fingerprint, secrets.token_hex(16))
            self._entries[key] = _Entry(fingerprint, claim.token, None, now + lease_seconds)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
            return claim

    async def complete(self, claim: Claimed, response: StoredResponse, ttl_seconds: int) -> None:
        with self._lock:
            if self._owns(claim):
                self._entries[claim.key] = _Entry(claim.fingerprint, claim.token, response, self._clock() + ttl_seconds)

    async def release(self, claim: Claimed) -> None:
        with self._lock:
            if self._owns(claim):
                del self._entries[claim.key]

    def _owns(self, claim: Claimed) -> bool:
        entry = self._entries.get(claim.key)
        return entry is not None and entry.token == claim.token and entry.response is None

    def __len__(self) -> int:
        return len(self._entries)
