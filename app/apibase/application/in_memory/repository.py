"""A dict-backed repository honouring the full Repository contract: the test double and embedded fallback.

Stored entities are private copies replaced on every write, so a snapshot of the dict is a consistent
transaction savepoint for :class:`InMemoryUnitOfWork`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from typing import ClassVar

from pydantic import BaseModel, ValidationError

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory.keyset import compare_keys, sort_key_values, sorted_by
from apibase.application.keyset_cursor import KeysetCursors, keyset_of
from apibase.application.pagination import CountStrategy, CursorPage, Page, SortField
from apibase.application.ports.factory import Factory
from apibase.application.query_guards import check_allowed, check_window
from apibase.core.errors import (
    ConcurrencyConflict,
    ConflictError,
    EntityNotFound,
    ValidationFailed,
)
from apibase.domain.entities import AggregateRoot, AuditableEntity, Identifiable
from apibase.domain.events import DomainEvent
from apibase.domain.specification import Specification

__all__ = ["InMemoryRepository"]


class InMemoryRepository[T: Identifiable, CreateT: BaseModel, UpdateT: BaseModel, ID: Hashable]:
    """``Repository[T, CreateT, UpdateT, ID]`` over a dict; subclasses set the allowlists and soft delete."""

    filterable_fields: frozenset[str] = frozenset()
    sortable_fields: frozenset[str] = frozenset()
    soft_delete: ClassVar[bool] = True

    def __init__(self, entity_type: type[T], factory: Factory[T, CreateT], *, cursor_codec: CursorCodec) -> None:
        self.entity_type = entity_type
        self._factory = factory
        self._cursors = KeysetCursors(cursor_codec, entity_type)
        self._rows: dict[ID, T] = {}
        self._touched: list[T] = []
        self.lock = asyncio.Lock()

    # -- transaction support (used by InMemoryUnitOfWork) -------------------------------------------------
    def savepoint(self) -> Callable[[], None]:
        """Rows are replaced, never mutated, on write: a shallow copy of the dict is a full snapshot."""
        rows = dict(self._rows)

        def restore() -> None:
            self._rows = dict(rows)

        return restore

    def forget_touched(self) -> None:
        self._touched.clear()

    def pull_events(self) -> list[DomainEvent]:
        events = [
            event for entity in self._touched if isinstance(entity, AggregateRoot) for event in entity.pull_events()
        ]
        self._touched.clear()
        return events

    # -- reads ---------------------------------------------------------------------------------------------
    def _visible(self, include_deleted: bool) -> list[T]:
        return [row for row in self._rows.values() if include_deleted or row.deleted_at is None]

    def _matching(self, where: Specification[T] | None, include_deleted: bool) -> list[T]:
        rows = self._visible(include_deleted)
        if where is None:
            return rows
        check_allowed(where.fields(), self.filterable_fields, "filter")
        return [row for row in rows if where.is_satisfied_by(row)]

    async def get_by_id(self, entity_id: ID, *, include_deleted: bool = False) -> T | None:
        row = self._rows.get(entity_id)
        if row is None or (row.deleted_at is not None and not include_deleted):
            return None
        return row.model_copy(deep=True)

    async def get_all(
        self,
        *,
        where: Specification[T] | None = None,
        sort: Sequence[SortField] = (),
        offset: int = 0,
        limit: int = 50,
        count: CountStrategy = CountStrategy.EXACT,
        include_deleted: bool = False,
    ) -> Page[T]:
        check_window(offset, limit)
        check_allowed(frozenset(spec.name for spec in sort), self.sortable_fields, "sort")
        rows = sorted_by(self._matching(where, include_deleted), sort)
        window = [row.model_copy(deep=True) for row in rows[offset : offset + limit]]
        total = None if count is CountStrategy.NONE else len(rows)
        return Page(items=window, offset=offset, limit=limit, total=total, has_next=offset + limit < len(rows))

    async def get_page(
        self,
        *,
        where: Specification[T] | None = None,
        sort: Sequence[SortField] = (),
        cursor: str | None = None,
        limit: int = 50,
        include_deleted: bool = False,
    ) -> CursorPage[T, str]:
        check_window(0, limit)
        position = None if cursor is None else self._cursors.resume(cursor, sort=sort, where=where)
        if position is not None:  # the cursor carries its listing's order and filter
            sort, where = position.sort, position.where
        check_allowed(frozenset(spec.name for spec in sort), self.sortable_fields, "sort")
        keyset = keyset_of(sort)
        rows = sorted_by(self._matching(where, include_deleted), keyset)
        if position is not None:
            after = position.after
            rows = [row for row in rows if compare_keys(sort_key_values(row, keyset), after, keyset) > 0]
        window = rows[:limit]
        last = sort_key_values(window[-1], keyset) if window else ()
        next_cursor = self._cursors.encode(last, keyset, where) if len(rows) > limit else None
        return CursorPage(items=[row.model_copy(deep=True) for row in window], limit=limit, next_cursor=next_cursor)

    async def find(self, where: Specification[T], *, include_deleted: bool = False) -> list[T]:
        return [row.model_copy(deep=True) for row in self._matching(where, include_deleted)]

    async def exists(self, entity_id: ID) -> bool:
        row = self._rows.get(entity_id)
        return row is not None and row.deleted_at is None

    async def count(self, where: Specification[T] | None = None, *, include_deleted: bool = False) -> int:
        return len(self._matching(where, include_deleted))

    # -- writes --------------------------------------------------------------------------------------------
    def _key(self, entity: T) -> ID:
        return entity.id  # type: ignore[return-value]

    def _store(self, entity: T) -> T:
        self._rows[self._key(entity)] = entity.model_copy(deep=True)
        self._touched.append(entity)
        return entity.model_copy(deep=True)

    async def create(self, data: CreateT, *, actor: str | None = None) -> T:
        entity = self._factory(data)
        if isinstance(entity, AuditableEntity):
            entity.record_creator(actor)
        return await self.add(entity)

    async def create_many(self, data: Sequence[CreateT]) -> list[T]:
        entities = [self._factory(item) for item in data]
        keys = [self._key(entity) for entity in entities]
        if len(set(keys)) != len(keys) or any(key in self._rows for key in keys):
            raise ConflictError("an entity with one of these ids already exists")
        return [self._store(entity) for entity in entities]

    async def add(self, entity: T) -> T:
        if self._key(entity) in self._rows:
            raise ConflictError(f"{type(entity).__name__} {entity.id} already exists")
        return self._store(entity)

    def _current(self, entity_id: ID) -> T:
        row = self._rows.get(entity_id)
        if row is None or row.deleted_at is not None:
            raise EntityNotFound(f"{self.entity_type.__name__} {entity_id} does not exist")
        return row

    @staticmethod
    def _check_version(stored: T, expected: int | None) -> int | None:
        version = getattr(stored, "version", None)
        if expected is not None and version is not None and version != expected:
            raise ConcurrencyConflict(
                f"{type(stored).__name__} {stored.id} is at version {version}, not {expected}; reload and retry",
                extensions={"current_version": version},
            )
        return version

    async def update(
        self, entity_id: ID, data: UpdateT, *, expected_version: int | None = None, actor: str | None = None
    ) -> T:
        stored = self._current(entity_id)
        version = self._check_version(stored, expected_version)
        changes: dict[str, object] = dict(data.model_dump(exclude_unset=True))
        if version is not None:
            changes["version"] = version + 1
        try:
            updated = stored.model_copy(deep=True)
            for name, value in changes.items():
                setattr(updated, name, value)
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc) from None
        if isinstance(updated, AuditableEntity):
            updated.record_editor(actor)
        updated.touch()
        return self._store(updated)

    async def save(self, entity: T) -> T:
        stored = self._current(self._key(entity))
        version = self._check_version(stored, getattr(entity, "version", None))
        if version is not None:
            setattr(entity, "version", version + 1)  # noqa: B010 - versioned entities only
        entity.touch()
        return self._store(entity)

    async def delete(self, entity_id: ID, *, hard: bool = False) -> bool:
        row = self._rows.get(entity_id)
        if row is None or (row.deleted_at is not None and not hard):
            return False
        if hard or not self.soft_delete:
            del self._rows[entity_id]
            return True
        deleted = row.model_copy(deep=True)
        deleted.soft_delete()
        self._rows[entity_id] = deleted
        return True
