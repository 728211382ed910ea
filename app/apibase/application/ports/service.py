"""The service port: the use cases a CRUD resource offers, every outcome a Result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from apibase.application.pagination import CountStrategy, CursorPage, Page, SortField
from apibase.core.errors import AnyAppError
from apibase.core.result import Result
from apibase.domain.specification import Specification

__all__ = ["Service"]


class Service[TEntity, TCreate, TUpdate, TResponse, ID](Protocol):
    async def create(self, data: TCreate, *, actor: str | None = None) -> Result[TResponse, AnyAppError]: ...

    async def get(self, entity_id: ID) -> Result[TResponse, AnyAppError]: ...

    async def list(
        self,
        *,
        where: Specification[TEntity] | None = None,
        sort: Sequence[SortField] = (),
        offset: int = 0,
        limit: int = 50,
        count: CountStrategy = CountStrategy.EXACT,
    ) -> Result[Page[TResponse], AnyAppError]: ...

    async def list_by_cursor(
        self,
        *,
        where: Specification[TEntity] | None = None,
        sort: Sequence[SortField] = (),
        cursor: str | None = None,
        limit: int = 50,
    ) -> Result[CursorPage[TResponse, str], AnyAppError]: ...

    async def update(
        self,
        entity_id: ID,
        data: TUpdate,
        *,
        expected_version: int | None = None,
        actor: str | None = None,
    ) -> Result[TResponse, AnyAppError]: ...

    async def delete(self, entity_id: ID, *, actor: str | None = None) -> Result[None, AnyAppError]: ...
