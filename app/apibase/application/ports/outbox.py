"""The outbox port: domain events written in the transaction that raised them, so none leaves without its change.

``TransactionBehaviour`` calls ``store`` with the unit's events just before the commit (a failing store means no
commit: no event, no change) and ``committed`` after it, to wake the relay that publishes what was stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.domain.events import DomainEvent

__all__ = ["Outbox"]


class Outbox(Protocol):
    async def store(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        """Add ``events`` to ``unit``'s transaction, in order; they exist only once that transaction commits."""
        ...

    def committed(self) -> None:
        """A transaction that stored events has committed: the relay may publish them now."""
        ...
