"""The stand-in's state stores: Dapr's state semantics on the real Redis, as daprd's ``state.redis`` keeps them.

Each key is a Redis hash ``{data, version}``; the version is the ETag. A save with an ETag succeeds only while
the stored version is that ETag (a missing key never matches); a ``first-write`` save without one only creates
the key (both fail as ``EtagMismatchError``, which the API answers with ``ABORTED`` like daprd). A last-write save
without an ETag always wins. ``ttlInSeconds`` metadata sets the key's expiry; without it the key never expires.
"""

from __future__ import annotations

from typing import Final, cast

from redis.asyncio import Redis

__all__ = ["EtagMismatchError", "RedisStateStores"]

# KEYS[1] the key; ARGV: data, etag ('' for none), '1' for first-write, TTL seconds ('' for none).
_SAVE: Final = """
local version = redis.call('HGET', KEYS[1], 'version')
if ARGV[2] ~= '' then
  if version ~= ARGV[2] then return -1 end
elseif ARGV[3] == '1' and version then
  return -1
end
local next = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'data', ARGV[1])
if ARGV[4] ~= '' and tonumber(ARGV[4]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
else
  redis.call('PERSIST', KEYS[1])
end
return next
"""
# KEYS[1] the key; ARGV[1] the etag ('' for none).
_DELETE: Final = """
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return -1 end
return redis.call('DEL', KEYS[1])
"""


class EtagMismatchError(Exception):
    """The write's concurrency condition failed: another writer got there first."""


class RedisStateStores:
    """Every state store of one stand-in, keyed ``<prefix>state:<store>||<key>`` in Redis (a bytes client)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, store: str, key: str) -> str:
        return f"{self._prefix}state:{store}||{key}"

    async def get(self, store: str, key: str) -> tuple[bytes, str] | None:
        """The value and its ETag, or ``None`` when the key is absent (or expired)."""
        data, version = cast("list[bytes | None]", await self._redis.hmget(self._key(store, key), ["data", "version"]))
        if data is None or version is None:
            return None
        return data, version.decode()

    async def save(self, store: str, key: str, data: bytes, *, etag: str, first_write: bool, ttl: str) -> str:
        """Store ``data`` and return its new ETag; ``EtagMismatchError`` when the condition fails."""
        args = (data, etag, "1" if first_write else "0", ttl)
        version = await self._redis.eval(_SAVE, 1, self._key(store, key), *args)
        if int(version) < 0:
            raise EtagMismatchError(key)
        return str(version)

    async def delete(self, store: str, key: str, *, etag: str) -> None:
        if int(await self._redis.eval(_DELETE, 1, self._key(store, key), etag)) < 0:
            raise EtagMismatchError(key)
