"""What every ``IdempotencyStore`` on a key-value server must do (Redis, the Dapr state store, a team's own).

Subclass ``IdempotencyStoreContract`` in a test module, give it a ``store`` fixture (keys of its own) and
``lapse`` (make the claim on a key expire as its lease would), and the module runs these tests on that store;
add the store's own (its TTL arithmetic, its failure modes) beside them.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from apibase.application.ports.idempotency import (
    Claimed,
    IdempotencyStore,
    InProgress,
    Mismatch,
    Replay,
    StoredResponse,
)

__all__ = ["RESPONSE", "IdempotencyStoreContract", "claim"]

#: A response with headers and a body no text encoding would survive.
RESPONSE = StoredResponse(201, (("content-type", "application/json"), ("etag", '"1"')), b'{"id":1}\x00\xff')


async def claim(store: IdempotencyStore, key: str = "t:k", fingerprint: str = "fp") -> Claimed:
    outcome = await store.begin(key, fingerprint, 30)
    assert isinstance(outcome, Claimed), outcome
    return outcome


class IdempotencyStoreContract(ABC):
    @abstractmethod
    async def lapse(self, store: IdempotencyStore, key: str) -> None:
        """Make the claim on ``key`` run out (its lease expired)."""

    async def test_claim_replay_and_mismatch(self, store: IdempotencyStore) -> None:
        owner = await claim(store)
        assert await store.begin("t:k", "fp", 30) == InProgress()
        assert await store.begin("t:k", "other", 30) == Mismatch()
        await store.complete(owner, RESPONSE, 600)
        await store.release(owner)  # a kept response is never released
        assert await store.begin("t:k", "fp", 30) == Replay(RESPONSE)

    async def test_a_response_kept_without_its_body_replays_as_such(self, store: IdempotencyStore) -> None:
        unkept = StoredResponse(200, (), None)
        await store.complete(await claim(store), unkept, 60)
        assert await store.begin("t:k", "fp", 30) == Replay(unkept)

    async def test_only_the_owner_can_release_or_complete(self, store: IdempotencyStore) -> None:
        owner = await claim(store)
        intruder = Claimed("t:k", "fp", "not-the-token")
        await store.release(intruder)
        await store.complete(intruder, RESPONSE, 60)
        assert await store.begin("t:k", "fp", 30) == InProgress()
        await store.release(owner)
        await claim(store)

    async def test_a_claim_expires_with_its_lease(self, store: IdempotencyStore) -> None:
        stale = await claim(store)
        await self.lapse(store, "t:k")
        await claim(store, fingerprint="a-new-request")
        await store.complete(stale, RESPONSE, 60)  # the lapsed owner writes nothing
        await store.release(stale)
        assert await store.begin("t:k", "a-new-request", 30) == InProgress()

    async def test_concurrent_claims_have_exactly_one_winner(self, store: IdempotencyStore) -> None:
        outcomes = await asyncio.gather(*(store.begin("t:k", "fp", 30) for _ in range(20)))
        assert sum(isinstance(outcome, Claimed) for outcome in outcomes) == 1
        assert outcomes.count(InProgress()) == 19
