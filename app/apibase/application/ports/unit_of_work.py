"""The unit-of-work port: one transaction around a use case, with savepoints and event collection."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol, Self

from apibase.domain.events import DomainEvent

__all__ = ["UnitOfWork"]


class UnitOfWork(Protocol):
    """``async with uow:`` begins; leaving by exception rolls back; nothing is kept without ``commit()``."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def nested(self) -> AbstractAsyncContextManager[Self]:
        """A savepoint: an exception inside undoes only the nested part, then propagates."""
        ...

    def collect_events(self) -> list[DomainEvent]:
        """Pull the events recorded by every aggregate this unit touched (each event is handed out once)."""
        ...
