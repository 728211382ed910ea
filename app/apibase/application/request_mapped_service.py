"""RequestMappedService: the same use cases taking other request shapes, e.g. a newer API version's DTOs.

The counterpart of ``MappedService`` (which converts responses): together they let one service, one
transaction and one cache serve two API versions whose bodies differ in both directions.
"""

from __future__ import annotations

from collections.abc import Callable

from apibase.application.pass_through_service import PassThroughReads
from apibase.application.ports.service import Service
from apibase.core.errors import AnyAppError
from apibase.core.result import Result

__all__ = ["RequestMappedService"]


class RequestMappedService[TEntity, TCreateIn, TUpdateIn, TCreate, TUpdate, TResponse, ID](
    PassThroughReads[TEntity, TCreate, TUpdate, TResponse, ID]
):
    """``Service[..., TCreateIn, TUpdateIn, ...]`` that converts each request body, then delegates."""

    def __init__(
        self,
        inner: Service[TEntity, TCreate, TUpdate, TResponse, ID],
        *,
        create: Callable[[TCreateIn], TCreate],
        update: Callable[[TUpdateIn], TUpdate],
    ) -> None:
        super().__init__(inner)
        self._create = create
        self._update = update

    async def create(self, data: TCreateIn, *, actor: str | None = None) -> Result[TResponse, AnyAppError]:
        return await self._inner.create(self._create(data), actor=actor)

    async def update(
        self,
        entity_id: ID,
        data: TUpdateIn,
        *,
        expected_version: int | None = None,
        actor: str | None = None,
    ) -> Result[TResponse, AnyAppError]:
        return await self._inner.update(entity_id, self._update(data), expected_version=expected_version, actor=actor)
