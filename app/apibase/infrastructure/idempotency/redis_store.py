"""Idempotency keys in Redis, shared by every worker and replica; expiry is Redis's own ``PX``.

One key per idempotency key holds a JSON record: ``{"fp", "token"}`` while the request runs, then
``{"fp", "status", "headers", "body"}`` (base64 body, ``null`` when too large to keep). A claim is one
``SET key pending NX PX lease GET`` (Redis 7.0 or later): it either creates the claim or returns what is there,
in a single atomic round trip. Finishing and releasing are compare-and-set scripts, so only the claim's owner
can change it. Connection errors and timeouts become ``IdempotencyUnavailable``: give the client
``socket_timeout``, ``socket_connect_timeout`` and a small ``retry`` budget (redis-py's default backs off for
seconds), so that an unreachable Redis fails a keyed request fast.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Final, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from apibase.application.ports.idempotency import (
    BeginOutcome,
    Claimed,
    IdempotencyUnavailable,
    InProgress,
    Mismatch,
    Replay,
    StoredResponse,
)

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
                self._prefix + key, _pending(claim), nx=True, px=lease_seconds * 1000, get=True
            )
        except (RedisError, OSError) as error:
            raise IdempotencyUnavailable(_UNAVAILABLE_DETAIL) from error
        if existing is None:
            return claim
        record = json.loads(cast("str | bytes", existing))
        if record["fp"] != fingerprint:
            return Mismatch()
        if "status" not in record:
            return InProgress()
        body = record["body"]
        headers = tuple((str(name), str(value)) for name, value in record["headers"])
        return Replay(StoredResponse(int(record["status"]), headers, None if body is None else base64.b64decode(body)))

    async def complete(self, claim: Claimed, response: StoredResponse, ttl_seconds: int) -> None:
        body = None if response.body is None else base64.b64encode(response.body).decode("ascii")
        record = {"fp": claim.fingerprint, "status": response.status, "headers": response.headers, "body": body}
        await self._script(_COMPLETE, claim, _dumps(record), str(ttl_seconds * 1000))

    async def release(self, claim: Claimed) -> None:
        await self._script(_RELEASE, claim)

    async def _script(self, script: str, claim: Claimed, *args: str) -> None:
        try:
            await self._client.eval(script, 1, self._prefix + claim.key, _pending(claim), *args)
        except (RedisError, OSError) as error:
            raise IdempotencyUnavailable(_UNAVAILABLE_DETAIL) from error


def _pending(claim: Claimed) -> str:
    """The claim's record, rebuilt byte-for-byte so the scripts can compare it with what is stored."""
    return _dumps({"fp": claim.fingerprint, "token": claim.token})


def _dumps(record: object) -> str:
    return json.dumps(record, separators=(",", ":"))
