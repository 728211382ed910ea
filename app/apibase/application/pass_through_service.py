"""PassThroughReads: the reads and the delete of a wrapped ``Service``, handed on unchanged.

A decorator that changes only the writes (other request shapes, a counter on ``create``) inherits these four
use cases instead of repeating their signatures; it defines ``create`` and ``update`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from apibase.application.pagination import CountStrategy, CursorPage, Page, SortField
from apibase.application.ports.service import Service
from apibase.core.errors import AnyAppError
from apibase.core.result import Result
from apibase.domain.specification import Specification

__all__ = ["PassThroughReads"]


class PassThroughReads[TEntity, TCreate, TUpdate, TResponse, ID]:
    """``get``, ``list``, ``list_by_cursor`` and ``delete`` of ``inner``, as they are."""

    def __init__(self, inner: Service[TEntity, TCreate, TUpdate, TResponse, ID]) -> None:
        self._inner = inner

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

    async def delete(self, entity_id: ID, *, actor: str | None = None) -> Result[None, AnyAppError]:
        return await self._inner.delete(entity_id, actor=actor)
