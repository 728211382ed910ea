"""Idempotency keys in Redis, shared by every worker and replica; expiry is Redis's own ``PX``.

One key per idempotency key holds a JSON record (``records``). A claim is one
``SET key pending NX PX lease GET`` (Redis 7.0 or later): it either creates the claim or returns what is there,
in a single atomic round trip. Finishing and releasing are compare-and-set scripts, so only the claim's owner
can change it. Connection errors and timeouts become ``IdempotencyUnavailable``: give the client
``socket_timeout``, ``socket_connect_timeout`` and a small ``retry`` budget (redis-py's default backs off for
seconds), so that an unreachable Redis fails a keyed request fast.
"""

from __future__ import annotations

import json
import secrets
from typing import Final, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from apibase.application.ports.idempotency import BeginOutcome, Claimed, IdempotencyUnavailable, StoredResponse
from apibase.infrastructure.idempotency.records import completed_record, outcome_of, pending_record

__all__ = ["RedisIdempotencyStore"]

_UNAVAILABLE_DETAIL: Final = "The idempotency store (Redis) cannot be reached; retry the request later."

# KEYS[1] the key; ARGV[1] the pending record the caller wrote; ARGV[2] the new record; ARGV[3] its TTL (ms).
_COMPLETE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# KEYS[1] the key; ARGV[1] the pending record the caller wrote.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisIdempotencyStore:
    """``IdempotencyStore`` on a ``redis.asyncio.Redis`` client, every key under ``key_prefix``."""

    def __init__(self, client: Redis, *, key_prefix: str = "apibase:idempotency:") -> None:
        self._client = client
        self._prefix = key_prefix

    async def begin(self, key: str, fingerprint: str, lease_seconds: int) -> BeginOutcome:
        claim = Claimed(key, fingerprint, secrets.token_hex(16))
        try:
            existing = await self._client.set(
                self._prefix + key, pending_record(claim), nx=True, px=lease_seconds * 1000, get=True
            )
        except (RedisError, OSError) as error:
            raise IdempotencyUnavailable(_UNAVAILABLE_DETAIL) from error
        if existing is None:
            return claim
        return outcome_of(json.loads(cast("str | bytes", existing)), fingerprint)

    async def complete(self, claim: Claimed, response: StoredResponse, ttl_seconds: int) -> None:
        await self._script(_COMPLETE, claim, completed_record(claim, response), str(ttl_seconds * 1000))

    async def release(self, claim: Claimed) -> None:
        await self._script(_RELEASE, claim)

    async def _script(self, script: str, claim: Claimed, *args: str) -> None:
        try:
            await self._client.eval(script, 1, self._prefix + claim.key, pending_record(claim), *args)
        except (RedisError, OSError) as error:
            raise IdempotencyUnavailable(_UNAVAILABLE_DETAIL) from error
