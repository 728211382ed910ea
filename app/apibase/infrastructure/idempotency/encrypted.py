"""Stored idempotent responses encrypted at rest: they can hold personal data (an order's shipping address)
that the database only ever keeps as ciphertext elsewhere.

Wraps any ``IdempotencyStore``; the body is sealed with the service's field encryptor, bound to the store key, so
a body copied to another key does not decrypt. Headers stay clear (they carry ids and types, not content).
"""

from __future__ import annotations

import base64
from dataclasses import replace

from apibase.application.ports.idempotency import (
    BeginOutcome,
    Claimed,
    IdempotencyStore,
    Replay,
    StoredResponse,
)
from apibase.infrastructure.crypto.field_encryption import FieldEncryptor

__all__ = ["EncryptedIdempotencyStore"]

_FIELD = "idempotency.body"


class EncryptedIdempotencyStore:
    def __init__(self, inner: IdempotencyStore, encryptor: FieldEncryptor) -> None:
        self._inner = inner
        self._encryptor = encryptor

    async def begin(self, key: str, fingerprint: str, lease_seconds: int) -> BeginOutcome:
        outcome = await self._inner.begin(key, fingerprint, lease_seconds)
        if isinstance(outcome, Replay) and outcome.response.body is not None:
            sealed = outcome.response.body.decode("ascii")
            body = base64.b64decode(self._encryptor.decrypt(sealed, field=_FIELD, record_id=key))
            return Replay(replace(outcome.response, body=body))
        return outcome

    async def complete(self, claim: Claimed, response: StoredResponse, ttl_seconds: int) -> None:
        if response.body is not None:
            plain = base64.b64encode(response.body).decode("ascii")
            sealed = self._encryptor.encrypt(plain, field=_FIELD, record_id=claim.key)
            response = replace(response, body=sealed.encode("ascii"))
        await self._inner.complete(claim, response, ttl_seconds)

    async def release(self, claim: Claimed) -> None:
        await self._inner.release(claim)
