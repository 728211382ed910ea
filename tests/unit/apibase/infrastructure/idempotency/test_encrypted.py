"""EncryptedIdempotencyStore: the inner store only ever holds ciphertext, replays get the original bytes."""

from __future__ import annotations

import pytest

from apibase.application.in_memory.idempotency import InMemoryIdempotencyStore
from apibase.application.ports.idempotency import Claimed, Replay, StoredResponse
from apibase.infrastructure.crypto.errors import DecryptionFailed
from apibase.infrastructure.crypto.field_encryption import EncryptionKey, FieldEncryptor, KeyRing
from apibase.infrastructure.idempotency.encrypted import EncryptedIdempotencyStore

pytestmark = pytest.mark.unit

BODY = b'{"data":{"shipping_address":"1 Main Street"}}\xff'


@pytest.fixture
def inner() -> InMemoryIdempotencyStore:
    return InMemoryIdempotencyStore()


@pytest.fixture
def store(inner: InMemoryIdempotencyStore) -> EncryptedIdempotencyStore:
    return EncryptedIdempotencyStore(inner, FieldEncryptor(KeyRing([EncryptionKey.generate("k1")])))


async def test_bodies_are_sealed_at_rest_and_replayed_exactly(
    store: EncryptedIdempotencyStore, inner: InMemoryIdempotencyStore
) -> None:
    claim = await store.begin("t:key", "fp", 30)
    assert isinstance(claim, Claimed)
    await store.complete(claim, StoredResponse(201, (("content-type", "application/json"),), BODY), 60)

    raw = await inner.begin("t:key", "fp", 30)
    assert isinstance(raw, Replay)
    assert raw.response.body is not None
    assert b"Main Street" not in raw.response.body

    replay = await store.begin("t:key", "fp", 30)
    assert isinstance(replay, Replay)
    assert replay.response == StoredResponse(201, (("content-type", "application/json"),), BODY)


async def test_a_body_moved_to_another_key_does_not_decrypt(
    store: EncryptedIdempotencyStore, inner: InMemoryIdempotencyStore
) -> None:
    claim = await store.begin("t:a", "fp", 30)
    assert isinstance(claim, Claimed)
    await store.complete(claim, StoredResponse(200, (), BODY), 60)
    sealed = await inner.begin("t:a", "fp", 30)
    assert isinstance(sealed, Replay)
    other = await inner.begin("t:b", "fp", 30)
    assert isinstance(other, Claimed)
    await inner.complete(other, sealed.response, 60)
    with pytest.raises(DecryptionFailed):
        await store.begin("t:b", "fp", 30)


async def test_bodiless_responses_and_releases_pass_through(store: EncryptedIdempotencyStore) -> None:
    claim = await store.begin("t:c", "fp", 30)
    assert isinstance(claim, Claimed)
    await store.release(claim)
    again = await store.begin("t:c", "fp", 30)
    assert isinstance(again, Claimed)
    await store.complete(again, StoredResponse(204, (), None), 60)
    replay = await store.begin("t:c", "fp", 30)
    assert isinstance(replay, Replay)
    assert replay.response.body is None
