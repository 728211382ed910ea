"""The sidecar's state API as the kernel's adapters need it: reads with their ETag, conditional writes, expiry.

Every write but a cache's overwrite is ``first-write`` concurrency: with an ETag it succeeds only while the
stored entry still has that ETag, without one only if the key does not exist (Dapr's first-write-wins). A lost
race is ``StateConflictError``; daprd answers it with gRPC ``ABORTED``, which the SDK's ``save_state`` keeps only as the
cause of its error. Expiry is the ``ttlInSeconds`` metadata. Anything else going wrong (sidecar down, unknown
store, timeout) is ``StateUnavailableError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

import grpc
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError
from dapr.clients.grpc._state import Concurrency, StateOptions

from apibase.infrastructure.dapr.client import DaprSidecar, SidecarUnavailableError

__all__ = ["DaprState", "StateConflictError", "StateEntry", "StateUnavailableError"]

_FIRST_WRITE = StateOptions(concurrency=Concurrency.first_write)


class StateConflictError(Exception):
    """Another writer changed (or created, or deleted) the entry first."""


class StateUnavailableError(ConnectionError):
    """The state store cannot answer now."""


@dataclass(frozen=True, slots=True)
class StateEntry:
    data: bytes
    etag: str


class DaprState:
    """One state store (``store``) of the sidecar."""

    def __init__(self, sidecar: DaprSidecar, store: str) -> None:
        self._sidecar = sidecar
        self._store = store

    def __repr__(self) -> str:
        return f"DaprState({self._store!r}, {self._sidecar!r})"

    async def get(self, key: str) -> StateEntry | None:
        """The entry, or ``None`` when the key is absent or expired."""
        client = await self._client()
        response = await self._call(client.get_state(self._store, key))
        return StateEntry(response.data, response.etag) if response.data else None

    async def save(
        self, key: str, data: bytes, *, etag: str | None, ttl_seconds: float | None, overwrite: bool = False
    ) -> None:
        """Write ``data`` if ``etag`` is still current (``None``: if the key is absent); expire after the TTL.

        ``overwrite`` writes unconditionally (last-write-wins), for a cache where any fresh value will do.
        """
        client = await self._client()
        metadata = {"ttlInSeconds": str(max(1, round(ttl_seconds)))} if ttl_seconds is not None else {}
        options = None if overwrite else _FIRST_WRITE
        await self._call(client.save_state(self._store, key, data, etag=etag, options=options, state_metadata=metadata))

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        """Delete the entry; with ``etag``, only while it is still current."""
        client = await self._client()
        options = _FIRST_WRITE if etag is not None else None
        await self._call(client.delete_state(self._store, key, etag=etag, options=options))

    async def _client(self) -> DaprClient:
        try:
            return await self._sidecar.client()
        except SidecarUnavailableError as error:
            raise StateUnavailableError(str(error)) from None

    async def _call[T](self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._sidecar.timeout_seconds):
                return await call
        except TimeoutError:
            raise StateUnavailableError(f"state store {self._store!r}: timed out") from None
        except (DaprInternalError, grpc.RpcError) as error:
            if _status(error) is grpc.StatusCode.ABORTED:
                raise StateConflictError(f"state store {self._store!r}: etag mismatch") from None
            raise StateUnavailableError(f"state store {self._store!r}: {_status(error)}") from None


def _status(error: BaseException) -> grpc.StatusCode | None:
    """The gRPC status of a failed SDK call: its own, or its cause's (``save_state`` wraps the RPC error)."""
    for candidate in (error, error.__cause__):
        if isinstance(candidate, grpc.RpcError):
            code = candidate.code()
            if isinstance(code, grpc.StatusCode):
                return code
    return None
