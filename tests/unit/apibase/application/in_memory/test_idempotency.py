"""The in-memory idempotency store: one claim per key, replay or mismatch after it, expiry, owner-only changes."""

from __future__ import annotations

import asyncio

import pytest

from apibase.application.in_memory.idempotency import InMemoryIdempotencyStore
from apibase.application.ports.idempotency import Claimed, InProgress, Mismatch, Replay, StoredResponse

pytestmark = pytest.mark.unit

RESPONSE = StoredResponse(201, (("content-type", "text/plain"), ("location", "/x/1")), b"made")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> InMemoryIdempotencyStore:
    return InMemoryIdempotencyStore(clock=clock)


async def claim(store: InMemoryIdempotencyStore, key: str = "k", fingerprint: str = "fp") -> Claimed:
    outcome = await store.begin(key, fingerprint, 30)
    assert isinstance(outcome, Claimed)
    return outcome


async def test_a_key_is_claimed_once_then_reported_in_progress_or_mismatched(store: InMemoryIdempotencyStore) -> None:
    first = await claim(store)
    assert (first.key, first.fingerprint) == ("k", "fp")
    assert await store.begin("k", "fp", 30) == InProgress()
    assert await store.begin("k", "other", 30) == Mismatch()


async def test_concurrent_claims_have_exactly_one_winner(store: InMemoryIdempotencyStore) -> None:
    outcomes = await asyncio.gather(*(store.begin("k", "fp", 30) for _ in range(20)))
    assert sum(isinstance(outcome, Claimed) for outcome in outcomes) == 1
    assert outcomes.count(InProgress()) == 19


async def test_a_completed_key_replays_its_response(store: InMemoryIdempotencyStore) -> None:
    await store.complete(await claim(store), RESPONSE, 60)
    assert await store.begin("k", "fp", 30) == Replay(RESPONSE)
    assert await store.begin("k", "other", 30) == Mismatch()


async def test_a_released_key_can_be_claimed_again(store: InMemoryIdempotencyStore) -> None:
    await store.release(await claim(store))
    assert len(store) == 0
    await claim(store)


async def test_a_claim_expires_after_its_lease_and_a_response_after_its_ttl(
    store: InMemoryIdempotencyStore, clock: Clock
) -> None:
    stale = await claim(store)
    clock.now += 30
    fresh = await claim(store)
    await store.complete(stale, RESPONSE, 60)  # the lapsed owner must not overwrite the new claim
    assert await store.begin("k", "fp", 30) == InProgress()
    await store.complete(fresh, RESPONSE, 60)
    clock.now += 59
    assert await store.begin("k", "fp", 30) == Replay(RESPONSE)
    clock.now += 1
    await claim(store)


async def test_only_the_owner_of_an_unfinished_claim_can_release_it(store: InMemoryIdempotencyStore) -> None:
    owner = await claim(store)
    await store.release(Claimed("k", "fp", "someone-else"))
    assert await store.begin("k", "fp", 30) == InProgress()
    await store.complete(owner, RESPONSE, 60)
    await store.release(owner)  # too late: the response is kept
    assert await store.begin("k", "fp", 30) == Replay(RESPONSE)


async def test_the_store_is_bounded_and_drops_the_oldest_keys() -> None:
    store = InMemoryIdempotencyStore(max_entries=2)
    for key in ("a", "b", "c"):
        await claim(store, key)
    assert len(store) == 2
    assert isinstance(await store.begin("a", "fp", 30), Claimed)
    assert await store.begin("c", "fp", 30) == InProgress()


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InMemoryIdempotencyStore(max_entries=0)
