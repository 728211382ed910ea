"""``DaprState`` through the SDK, the stand-in's gRPC API and Redis: ETags, first-write-wins, TTL expiry."""

import asyncio

import pytest
from redis.asyncio import Redis

from apibase.infrastructure.dapr.client import DaprSidecar
from apibase.infrastructure.dapr.state import DaprState, StateConflictError, StateUnavailableError
from apibase.testing.dapr_sidecar import DaprStandIn

pytestmark = pytest.mark.integration


@pytest.fixture
def state(sidecar: DaprSidecar, stand_in: DaprStandIn) -> DaprState:
    return DaprState(sidecar, stand_in.settings.state_store)


async def test_an_entry_is_read_back_with_its_etag_and_stored_in_redis(
    state: DaprState, redis: Redis, stand_in: DaprStandIn
) -> None:
    assert await state.get("k") is None
    await state.save("k", b"one", etag=None, ttl_seconds=None)
    entry = await state.get("k")
    assert entry is not None
    assert entry.data == b"one"
    assert await redis.hget(f"{stand_in.prefix}state:statestore||k", "data") == b"one"


async def test_the_first_write_wins_and_a_stale_etag_loses(state: DaprState) -> None:
    await state.save("k", b"first", etag=None, ttl_seconds=None)
    with pytest.raises(StateConflictError):
        await state.save("k", b"second", etag=None, ttl_seconds=None)
    entry = await state.get("k")
    assert entry is not None
    await state.save("k", b"updated", etag=entry.etag, ttl_seconds=None)
    with pytest.raises(StateConflictError):
        await state.save("k", b"stale", etag=entry.etag, ttl_seconds=None)
    with pytest.raises(StateConflictError):
        await state.delete("k", etag=entry.etag)
    current = await state.get("k")
    assert current is not None
    assert current.data == b"updated"
    await state.delete("k", etag=current.etag)
    assert await state.get("k") is None


async def test_concurrent_first_writes_have_exactly_one_winner(state: DaprState) -> None:
    async def attempt(value: bytes) -> bool:
        try:
            await state.save("race", value, etag=None, ttl_seconds=None)
        except StateConflictError:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt(str(n).encode()) for n in range(20)))
    assert outcomes.count(True) == 1


async def test_ttl_in_seconds_expires_the_entry(state: DaprState, redis: Redis, stand_in: DaprStandIn) -> None:
    await state.save("short", b"v", etag=None, ttl_seconds=30)
    key = f"{stand_in.prefix}state:statestore||short"
    assert 0 < await redis.ttl(key) <= 30
    await redis.pexpireat(key, 1)  # Redis's own expiry, now (a moment in the past) instead of in 30 s
    assert not await redis.exists(key)
    assert await state.get("short") is None
    await state.save("short", b"again", etag=None, ttl_seconds=None)  # an expired key is absent: first write again
    assert await redis.ttl(key) == -1


async def test_an_overwrite_ignores_what_is_there(state: DaprState) -> None:
    await state.save("k", b"a", etag=None, ttl_seconds=None)
    await state.save("k", b"b", etag=None, ttl_seconds=None, overwrite=True)
    entry = await state.get("k")
    assert entry is not None
    assert entry.data == b"b"


async def test_an_unknown_store_is_unavailable(sidecar: DaprSidecar) -> None:
    with pytest.raises(StateUnavailableError, match="INVALID_ARGUMENT"):
        await DaprState(sidecar, "no-such-store").get("k")


async def test_a_sidecar_that_is_not_there_is_unavailable(absent_sidecar: DaprSidecar) -> None:
    with pytest.raises(StateUnavailableError, match="not healthy"):
        await DaprState(absent_sidecar, "statestore").get("k")
