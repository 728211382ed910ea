"""RequestMappedService: the same use cases taking other request shapes, e.g. a newer API version's DTOs.

The counterpart of ``MappedService`` (which converts responses): together they let one service, one
transaction and one cache serve two API versions whose bodies differ in both directions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.application.pagination import CountStrategy, CursorPage, Page, SortField
from app.application.ports.service import Service
from app.core.errors import AnyAppError
from app.core.result import Result
from app.domain.specification import Specification

__all__ = ["RequestMappedService"]


class RequestMappedService[TEntity, TCreateIn, TUpdateIn, TCreate, TUpdate, TResponse, ID]:
    """``Service[..., TCreateIn, TUpdateIn, ...]`` that converts each request body, then delegates."""

    def __init__(
        self,
        inner: Service[TEntity, TCreate, TUpdate, TResponse, ID],
        *,
        create: Callable[[TCreateIn], TCreate],
        update: Callable[[TUpdateIn], TUpdate],
    ) -> None:
        self._inner = inner
        self._create = create
        self._update = update

    async def create(self, data: TCreateIn, *, actor: str | None = None) -> Result[TResponse, AnyAppError]:
        return await self._inner.create(self._create(data), actor=actor)

    async def get(self, entity_id: ID) -> Result[TResponse, AnyAppError]:
        return await self._inner.get(entity_id)

    async def list(
        self,
        *,
        where: Specification[TEntity] | None = None,
        sort: Sequence[SortField] = (),
        offset: int = 0,
        limit: int = 50,
        count: CountStrategy = CountStrategy.EXACT,
    ) -> Result[Page[TResponse], AnyAppError]:
        return await self._inner.list(where=where, sort=sort, offset=offset, limit=limit, count=count)

    async def list_by_cursor(
        self,
        *,
        where: Specification[TEntity] | None = None,
        sort: Sequence[SortField] = (),
        cursor: str | None = None,
        limit: int = 50,
    ) -> Result[CursorPage[TResponse, str], AnyAppError]:
        return await self._inner.list_by_cursor(where=where, sort=sort, cursor=cursor, limit=limit)

    async def update(
        self,
        entity_id: ID,
        data: TUpdateIn,
        *,
        expected_version: int | None = None,
        actor: str | None = None,
    ) -> Result[TResponse, AnyAppError]:
        return await self._inner.update(entity_id, self._update(data), expected_version=expected_version, actor=actor)

    async def delete(self, entity_id: ID, *, actor: str | None = None) -> Result[None, AnyAppError]:
        return await self._inner.delete(entity_id, actor=actor)
