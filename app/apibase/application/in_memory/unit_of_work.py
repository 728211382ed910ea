"""A unit of work over in-memory repositories: snapshots for rollback, a stack of them for savepoints.

Transactions on the same repositories are serialised with their locks, so concurrent units cannot undo each
other's writes on rollback (the embedded fallback trades concurrency for correctness).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Protocol, Self

from apibase.domain.events import DomainEvent

__all__ = ["InMemoryUnitOfWork", "TransactionalStore"]


class TransactionalStore(Protocol):
    """What the unit of work needs from a repository: a lock, savepoints, and its touched aggregates."""

    lock: asyncio.Lock

    def savepoint(self) -> Callable[[], None]:
        """Capture the current state; calling the result puts it back."""
        ...

    def forget_touched(self) -> None: ...

    def pull_events(self) -> list[DomainEvent]: ...


type _Savepoint = list[Callable[[], None]]


class InMemoryUnitOfWork:
    """``UnitOfWork`` for :class:`InMemoryRepository` instances; nothing survives without ``commit()``."""

    def __init__(self, *repositories: TransactionalStore) -> None:
        self._repositories = sorted(repositories, key=id)
        self._savepoints: list[_Savepoint] = []
        self._locks: AsyncExitStack | None = None

    def _take(self) -> _Savepoint:
        return [repository.savepoint() for repository in self._repositories]

    @staticmethod
    def _put(savepoint: _Savepoint) -> None:
        for restore in savepoint:
            restore()

    async def __aenter__(self) -> Self:
        if self._locks is not None:
            raise RuntimeError("this unit of work is already active; use nested() for a savepoint")
        locks = AsyncExitStack()
        for repository in self._repositories:
            await locks.enter_async_context(repository.lock)
        self._locks = locks
        self._savepoints = [self._take()]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            locks, self._locks = self._locks, None
            self._savepoints = []
            if locks is not None:
                await locks.aclose()

    def _require_active(self) -> None:
        if self._locks is None:
            raise RuntimeError("the unit of work is not active: use 'async with uow:'")

    async def commit(self) -> None:
        """Make the current state the new baseline, so a later rollback returns here."""
        self._require_active()
        self._savepoints = [self._take()]

    async def rollback(self) -> None:
        self._require_active()
        self._put(self._savepoints[0])
        self._savepoints = self._savepoints[:1]
        for repository in self._repositories:
            repository.forget_touched()

    @asynccontextmanager
    async def nested(self) -> AsyncIterator[Self]:
        self._require_active()
        savepoint = self._take()
        self._savepoints.append(savepoint)
        try:
            yield self
        except BaseException:
            self._put(savepoint)
            raise
        finally:
            self._savepoints.remove(savepoint)

    def collect_events(self) -> list[DomainEvent]:
        return [event for repository in self._repositories for event in repository.pull_events()]
