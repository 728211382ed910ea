"""How an ordering handler runs its work: one unit of work per message, expected errors as ``Err``.

Each command handler opens its own unit of work rather than relying on the bus's ``TransactionBehaviour``:
that behaviour holds a single unit of work per bus, and the unit's repositories must be built on the very
session it opened, which a handler shared by concurrent requests cannot get from the bus. Here the commit
happens before the ``Ok`` is returned, and events are published only after it (so the HTTP layer never
answers for a write that may still roll back). Do not add ``TransactionBehaviour`` to the ordering bus.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from apibase.application.ports.events import EventPublisher
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import AnyAppError, ApplicationError, DomainError, InfrastructureError
from apibase.core.result import Err, Ok, Result

__all__ = ["run_command", "run_query"]

_EXPECTED = (DomainError, ApplicationError, InfrastructureError)


async def run_command[T](
    unit_of_work: Callable[[], UnitOfWork],
    work: Callable[[UnitOfWork], Awaitable[T]],
    publisher: EventPublisher | None = None,
) -> Result[T, AnyAppError]:
    """Run ``work`` and commit; an expected error rolls everything back and comes back as ``Err``."""
    try:
        async with unit_of_work() as uow:
            value = await work(uow)
            await uow.commit()
            events = uow.collect_events()
    except _EXPECTED as error:
        return Err(error)
    if events and publisher is not None:
        await publisher.publish(events)
    return Ok(value)


async def run_query[T](
    unit_of_work: Callable[[], UnitOfWork], work: Callable[[UnitOfWork], Awaitable[T]]
) -> Result[T, AnyAppError]:
    """Run ``work`` in a unit of work that is never committed, so a query cannot change anything."""
    try:
        async with unit_of_work() as uow:
            return Ok(await work(uow))
    except _EXPECTED as error:
        return Err(error)
