"""GenericService: CRUD use cases over any repository, each in one unit of work, each outcome a Result.

Subclasses customise behaviour through hooks instead of re-implementing the flow: ``pre_*`` hooks may veto
(return ``Err``) or rewrite the input; ``post_*`` hooks run inside the transaction, before the commit.
Domain events go to the ``outbox`` in the write's own transaction (kept exactly when the write is) and to the
``publisher`` only after a successful commit, so nobody hears about a write that was undone.
The ``actor`` of a create or update (the caller's subject) reaches the repository, which records it on auditable
entities as ``created_by``/``updated_by``. Reads (``get``, ``list``, ``list_by_cursor``) run in units from
``read_unit_of_work`` when one is given: units that declare they only read (on SQLite they take no write lock).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Protocol

from pydantic import BaseModel

from apibase.application.pagination import CountStrategy, CursorPage, Page, SortField
from apibase.application.ports.events import EventPublisher
from apibase.application.ports.outbox import Outbox
from apibase.application.ports.repository import Repository
from apibase.application.ports.store import Store
from apibase.application.ports.unit_of_work import UnitOfWork
from apibase.core.errors import AnyAppError, ApplicationError, DomainError, InfrastructureError, NotFoundError
from apibase.core.result import Err, Ok, Result
from apibase.domain.entities import Identifiable
from apibase.domain.events import DomainEvent
from apibase.domain.specification import Specification

__all__ = ["GenericService", "ResponseMapper"]


class ResponseMapper[TEntity, TResponse](Protocol):
    """The part of ``GenericMapper`` the service needs."""

    def to_response(self, entity: TEntity) -> TResponse: ...

    def to_dto_list(self, entities: Iterable[TEntity]) -> list[TResponse]: ...


_EXPECTED = (DomainError, ApplicationError, InfrastructureError)


class GenericService[
    TEntity: Identifiable,
    TCreate: BaseModel,
    TUpdate: BaseModel,
    TResponse: BaseModel,
    ID: Hashable,
]:
    """``Service[TEntity, TCreate, TUpdate, TResponse, ID]`` with hooks, events and optional read caching."""

    resource_name: str = "resource"

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        read_unit_of_work: Callable[[], UnitOfWork] | None = None,
        repository: Callable[[UnitOfWork], Repository[TEntity, TCreate, TUpdate, ID]],
        mapper: ResponseMapper[TEntity, TResponse],
        publisher: EventPublisher | None = None,
        cache: Store[str, TResponse] | None = None,
        cache_ttl_seconds: float | None = 60.0,
        outbox: Outbox | None = None,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._read_unit_of_work = read_unit_of_work or unit_of_work
        self._outbox = outbox
        self._repository = repository
        self._mapper = mapper
        self._publisher = publisher
        self._cache = cache
        self._cache_ttl_seconds = cache_ttl_seconds

    # -- hooks ---------------------------------------------------------------------------------------------
    async def pre_create(self, data: TCreate, actor: str | None) -> Result[TCreate, AnyAppError]:
        return Ok(data)

    async def post_create(self, entity: TEntity, actor: str | None) -> None:
        return None

    async def pre_update(self, entity_id: ID, data: TUpdate, actor: str | None) -> Result[TUpdate, AnyAppError]:
        return Ok(data)

    async def post_update(self, entity: TEntity, actor: str | None) -> None:
        return None

    async def pre_delete(self, entity_id: ID, actor: str | None) -> Result[None, AnyAppError]:
        return Ok(None)

    async def post_delete(self, entity_id: ID, actor: str | None) -> None:
        return None

    # -- plumbing ------------------------------------------------------------------------------------------
    def _cache_key(self, entity_id: ID) -> str:
        return f"{self.resource_name}:{entity_id}"

    def _not_found(self, entity_id: ID) -> Err[AnyAppError]:
        return Err(NotFoundError(f"{self.resource_name} {entity_id} does not exist"))

    async def _guard[R](self, work: Callable[[], Awaitable[Result[R, AnyAppError]]]) -> Result[R, AnyAppError]:
        """Repositories raise typed errors; this is where they become Results (docs/adr/0002)."""
        try:
            return await work()
        except _EXPECTED as error:
            return Err(error)

    async def _commit(self, uow: UnitOfWork) -> list[DomainEvent]:
        """Store the write's events in the outbox, in its transaction, then commit; the events, for after it."""
        events = uow.collect_events()
        if events and self._outbox is not None:
            await self._outbox.store(uow, events)
        await uow.commit()
        return events

    async def _after_commit(self, events: Sequence[DomainEvent], changed: ID | None = None) -> None:
        if events and self._outbox is not None:
            self._outbox.committed()
        if changed is not None and self._cache is not None:
            await self._cache.delete(self._cache_key(changed))
        if events and self._publisher is not None:
            await self._publisher.publish(events)

    # -- use cases -----------------------------------------------------------------------------------------
    async def create(self, data: TCreate, *, actor: str | None = None) -> Result[TResponse, AnyAppError]:
        async def work() -> Result[TResponse, AnyAppError]:
            async with self._unit_of_work() as uow:
                match await self.pre_create(data, actor):
                    case Err() as refused:
                        return refused
                    case Ok(prepared):
                        entity = await self._repository(uow).create(prepared, actor=actor)
                await self.post_create(entity, actor)
                events = await self._commit(uow)
            await self._after_commit(events)
            return Ok(self._mapper.to_response(entity))

        return await self._guard(work)

    async def get(self, entity_id: ID) -> Result[TResponse, AnyAppError]:
        if self._cache is not None and (cached := await self._cache.get(self._cache_key(entity_id))) is not None:
            return Ok(cached)

        async def work() -> Result[TResponse, AnyAppError]:
            async with self._read_unit_of_work() as uow:
                entity = await self._repository(uow).get_by_id(entity_id)
            if entity is None:
                return self._not_found(entity_id)
            response = self._mapper.to_response(entity)
            if self._cache is not None:
                await self._cache.set(self._cache_key(entity_id), response, ttl_seconds=self._cache_ttl_seconds)
            return Ok(response)

        return await self._guard(work)

    async def list(
        self,
        *,
        where: Specification[TEntity] | None = None,
        sort: Sequence[SortField] = (),
        offset: int = 0,
        limit: int = 50,
        count: CountStrategy = CountStrategy.EXACT,
    ) -> Result[Page[TResponse], AnyAppError]:
        async def work() -> Result[Page[TResponse], AnyAppError]:
            async with self._read_unit_of_work() as uow:
                page = await self._repository(uow).get_all(
                    where=where, sort=sort, offset=offset, limit=limit, count=count
                )
            items = self._mapper.to_dto_list(page.items)
            return Ok(Page(items, page.offset, page.limit, page.total, page.has_next))

        return await self._guard(work)

    async def list_by_cursor(
        self,
        *,
        where: Specification[TEntity] | None = None,
        sort: Sequence[SortField] = (),
        cursor: str | None = None,
        limit: int = 50,
    ) -> Result[CursorPage[TResponse, str], AnyAppError]:
        async def work() -> Result[CursorPage[TResponse, str], AnyAppError]:
            async with self._read_unit_of_work() as uow:
                page = await self._repository(uow).get_page(where=where, sort=sort, cursor=cursor, limit=limit)
            return Ok(CursorPage(self._mapper.to_dto_list(page.items), page.limit, page.next_cursor))

        return await self._guard(work)

    async def update(
        self,
        entity_id: ID,
        data: TUpdate,
        *,
        expected_version: int | None = None,
        actor: str | None = None,
    ) -> Result[TResponse, AnyAppError]:
        async def work() -> Result[TResponse, AnyAppError]:
            async with self._unit_of_work() as uow:
                match await self.pre_update(entity_id, data, actor):
                    case Err() as refused:
                        return refused
                    case Ok(prepared):
                        repository = self._repository(uow)
                        entity = await repository.update(
                            entity_id, prepared, expected_version=expected_version, actor=actor
                        )
                await self.post_update(entity, actor)
                events = await self._commit(uow)
            await self._after_commit(events, changed=entity_id)
            return Ok(self._mapper.to_response(entity))

        return await self._guard(work)

    async def delete(self, entity_id: ID, *, actor: str | None = None) -> Result[None, AnyAppError]:
        async def work() -> Result[None, AnyAppError]:
            async with self._unit_of_work() as uow:
                if isinstance(refused := await self.pre_delete(entity_id, actor), Err):
                    return refused
                deleted = await self._repository(uow).delete(entity_id)
                if not deleted:
                    return self._not_found(entity_id)
                await self.post_delete(entity_id, actor)
                events = await self._commit(uow)
            await self._after_commit(events, changed=entity_id)
            return Ok(None)

        return await self._guard(work)
