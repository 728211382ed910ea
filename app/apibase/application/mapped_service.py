"""MappedService: the same use cases with another response shape, e.g. a newer API version's DTO.

Deriving one version's responses from the other's keeps both versions on one service, one transaction
and one cache, so they can never disagree about the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from apibase.application.pagination import CountStrategy, CursorPage, Page, SortField
from apibase.application.ports.service import Service
from apibase.core.errors import AnyAppError
from apibase.core.result import Result
from apibase.domain.specification import Specification

__all__ = ["MappedService"]


class MappedService[TEntity, TCreate, TUpdate, TFrom, TTo, ID]:
    """``Service[..., TTo, ID]`` that delegates to a ``Service[..., TFrom, ID]`` and converts every ``Ok``."""

    def __init__(self, inner: Service[TEntity, TCreate, TUpdate, TFrom, ID], convert: Callable[[TFrom], TTo]) -> None:
        self._inner = inner
        self._convert = convert

    def _page(self, page: Page[TFrom]) -> Page[TTo]:
        return Page([self._convert(item) for item in page.items], page.offset, page.limit, page.total, page.has_next)

    def _cursor_page(self, page: CursorPage[TFrom, str]) -> CursorPage[TTo, str]:
        return CursorPage([self._convert(item) for item in page.items], page.limit, page.next_cursor)

    async def create(self, data: TCreate, *, actor: str | None = None) -> Result[TTo, AnyAppError]:
        return (await self._inner.create(data, actor=actor)).map(self._convert)

    async def get(self, entity_id: ID) -> Result[TTo, AnyAppError]:
        return (await self._inner.get(entity_id)).map(self._convert)

    async def list(
        self,
        *,
        where: Specification[TEntity] | None = None,
        sort: Sequence[SortField] = (),
        offset: int = 0,
        limit: int = 50,
        count: CountStrategy = CountStrategy.EXACT,
    ) -> Result[Page[TTo], AnyAppError]:
        result = await self._inner.list(where=where, sort=sort, offset=offset, limit=limit, count=count)
        return result.map(self._page)

    async def list_by_cursor(
        self,
        *,
        where: Specification[TEntity] | None = None,
        sort: Sequence[SortField] = (),
        cursor: str | None = None,
        limit: int = 50,
    ) -> Result[CursorPage[TTo, str], AnyAppError]:
        result = await self._inner.list_by_cursor(where=where, sort=sort, cursor=cursor, limit=limit)
        return result.map(self._cursor_page)

    async def update(
        self,
        entity_id: ID,
        data: TUpdate,
        *,
        expected_version: int | None = None,
        actor: str | None = None,
    ) -> Result[TTo, AnyAppError]:
        result = await self._inner.update(entity_id, data, expected_version=expected_version, actor=actor)
        return result.map(self._convert)

    async def delete(self, entity_id: ID, *, actor: str | None = None) -> Result[None, AnyAppError]:
        return await self._inner.delete(entity_id, actor=actor)
