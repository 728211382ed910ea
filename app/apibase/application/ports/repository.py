"""The repository port: one generic contract every storage backend honours (see apibase.testing.contract)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from apibase.application.pagination import CountStrategy, CursorPage, Page, SortField
from apibase.domain.specification import Specification

__all__ = ["Repository"]


class Repository[T, CreateT, UpdateT, ID](Protocol):
    """Async persistence of ``T`` keyed by ``ID``.

    Expected failures raise typed ``AppError`` subclasses (``EntityNotFound``, ``ConcurrencyConflict``,
    ``InvalidCursorError``, ``ValidationFailed`` for a field outside the allowlist); the application service
    turns them into Results. Soft-deleted rows are invisible unless ``include_deleted=True``.
    """

    filterable_fields: frozenset[str]
    sortable_fields: frozenset[str]

    async def get_by_id(self, entity_id: ID, *, include_deleted: bool = False) -> T | None: ...

    async def get_all(
        self,
        *,
        where: Specification[T] | None = None,
        sort: Sequence[SortField] = (),
        offset: int = 0,
        limit: int = 50,
        count: CountStrategy = CountStrategy.EXACT,
        include_deleted: bool = False,
    ) -> Page[T]: ...

    async def get_page(
        self,
        *,
        where: Specification[T] | None = None,
        sort: Sequence[SortField] = (),
        cursor: str | None = None,
        limit: int = 50,
        include_deleted: bool = False,
    ) -> CursorPage[T, str]: ...

    async def find(self, where: Specification[T], *, include_deleted: bool = False) -> list[T]: ...

    async def create(self, data: CreateT, *, actor: str | None = None) -> T:
        """Build and store a new entity; an auditable one records ``actor`` as its creator."""
        ...

    async def create_many(self, data: Sequence[CreateT]) -> list[T]: ...

    async def add(self, entity: T) -> T:
        """Store an entity built by the domain (an aggregate's factory method) rather than from a DTO."""
        ...

    async def update(
        self, entity_id: ID, data: UpdateT, *, expected_version: int | None = None, actor: str | None = None
    ) -> T:
        """Apply the fields set in ``data``; a stale ``expected_version`` raises ``ConcurrencyConflict``.

        An auditable entity records ``actor`` as its last editor.
        """
        ...

    async def save(self, entity: T) -> T:
        """Write back a changed entity; for versioned entities the stored version must still match."""
        ...

    async def delete(self, entity_id: ID, *, hard: bool = False) -> bool:
        """Soft delete where the repository allows it (or ``hard=True``); False when nothing matched."""
        ...

    async def exists(self, entity_id: ID) -> bool: ...

    async def count(self, where: Specification[T] | None = None, *, include_deleted: bool = False) -> int: ...
