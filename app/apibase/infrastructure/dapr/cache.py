"""A key-value ``Store`` on the Dapr state store, for the response caches (``ApplicationService(cache=...)``).

Values are JSON, through a pydantic ``TypeAdapter`` of the cached type; expiry is ``ttlInSeconds``. Dapr cannot
list or delete keys by prefix, so ``clear`` moves the store to a new generation: keys live under
``<namespace><generation>:``, the generation is an entry of its own bumped with an ETag, and what the old one held
is no longer read (it expires with its TTL). That costs one extra read per call, on the sidecar's loopback.
"""

from __future__ import annotations

from typing import Final

from pydantic import TypeAdapter

from apibase.infrastructure.dapr.state import DaprState, StateConflictError

__all__ = ["DaprStore"]

_GENERATION: Final = "generation"


class DaprStore[V]:
    """``Store[str, V]`` under ``namespace`` (e.g. ``catalog-products:``; no ``||``, which Dapr reserves)."""

    def __init__(self, state: DaprState, value_type: type[V], *, namespace: str) -> None:
        self._state = state
        self._adapter: TypeAdapter[V] = TypeAdapter(value_type)
        self._namespace = namespace

    async def get(self, key: str) -> V | None:
        entry = await self._state.get(await self._key(key))
        return None if entry is None else self._adapter.validate_json(entry.data)

    async def set(self, key: str, value: V, *, ttl_seconds: float | None = None) -> None:
        data = self._adapter.dump_json(value)
        await self._state.save(await self._key(key), data, etag=None, ttl_seconds=ttl_seconds, overwrite=True)

    async def delete(self, key: str) -> None:
        await self._state.delete(await self._key(key))

    async def clear(self) -> None:
        current = await self._state.get(self._namespace + _GENERATION)
        generation = int(current.data) if current is not None else 0
        try:
            await self._state.save(
                self._namespace + _GENERATION,
                str(generation + 1).encode(),
                etag=current.etag if current is not None else None,
                ttl_seconds=None,
            )
        except StateConflictError:
            return  # a concurrent clear moved the generation on already: this one's work is done

    async def _key(self, key: str) -> str:
        current = await self._state.get(self._namespace + _GENERATION)
        generation = current.data.decode() if current is not None else "0"
        return f"{self._namespace}{generation}:{key}"
