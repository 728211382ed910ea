"""SQLAlchemyRepository: the whole Repository contract on SQLAlchemy 2 async, for any entity/model pair.

A concrete repository declares its mapper and allowlists and inherits everything else::

    class ProductRepository(SQLAlchemyRepository[Product, ProductRow, ProductCreate, ProductUpdate, ProductId]):
        mapper = ProductMapper()
        filterable_fields = sortable_fields = frozenset({"name", "price"})

Writes are single statements guarded by the version column (``UPDATE ... WHERE id = :id AND version = :v``), so
a stale write is detected by the database itself, never silently applied.

Rows of a tenant-scoped table (every table that is not a ``GlobalTable``, see ``orm.py``) belong to the tenant of
the current request (``apibase.core.context.tenant``): every read, write and delete is filtered by it and inserts are
stamped with it, so no caller can reach another tenant's rows; another tenant's row reads as missing (404).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import partial
from typing import Any, ClassVar, Protocol, Self, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, Select, Table, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase

from apibase.application.cursor import CursorCodec
from apibase.application.keyset_cursor import KeysetCursors, keyset_of
from apibase.application.pagination import CountStrategy, CursorPage, Page, SortField
from apibase.application.query_guards import check_allowed, check_window
from apibase.core.context import current_principal
from apibase.core.errors import ConcurrencyConflict, ConflictError, EntityNotFound, ValidationFailed
from apibase.core.types import Branded
from apibase.domain.entities import AuditableEntity, Identifiable, utc_now
from apibase.domain.specification import Specification
from apibase.infrastructure.persistence.orm import TENANT_COLUMN, Tenancy, tenancy_of
from apibase.infrastructure.persistence.query_hints import NO_HINTS, QueryHints, table_select
from apibase.infrastructure.persistence.read_statements import (
    ID,
    LIMIT,
    OFFSET,
    TENANT,
    after,
    by_id,
    listing,
    order_by,
)
from apibase.infrastructure.persistence.specification_sql import compile_specification
from apibase.infrastructure.persistence.tenancy import required_tenant
from apibase.infrastructure.persistence.unit_of_work import SQLAlchemyUnitOfWork

__all__ = ["PersistenceMapper", "SQLAlchemyRepository"]


class PersistenceMapper[TEntity, TModel](Protocol):
    """The part of ``GenericMapper`` a repository needs."""

    @property
    def entity_type(self) -> type[TEntity]: ...

    @property
    def model_type(self) -> type[TModel]: ...

    def to_model(self, entity: TEntity) -> TModel: ...

    def to_entity(self, model: TModel) -> TEntity: ...

    def to_entities(self, models: Sequence[TModel]) -> list[TEntity]: ...


class SQLAlchemyRepository[
    TEntity: Identifiable,
    TModel: DeclarativeBase,
    CreateT: BaseModel,
    UpdateT: BaseModel,
    TId: Hashable,
]:
    mapper: PersistenceMapper[TEntity, TModel]
    filterable_fields: frozenset[str] = frozenset()
    sortable_fields: frozenset[str] = frozenset()
    soft_delete: ClassVar[bool] = True
    #: How reads run (index hints, a column subset): see ``query_hints``; ``hinted()`` changes it per use.
    query_hints: QueryHints = NO_HINTS

    def __init__(self, unit_of_work: SQLAlchemyUnitOfWork, *, cursor_codec: CursorCodec) -> None:
        self._uow = unit_of_work
        self._cursors = KeysetCursors(cursor_codec, self.mapper.entity_type)
        self._model = self.mapper.model_type
        self._table: Table = self._model.__table__  # type: ignore[assignment]
        self._tenant_scoped = tenancy_of(self._model) is Tenancy.TENANT
        if self._tenant_scoped and TENANT_COLUMN not in self._table.c:
            raise TypeError(
                f"{self._model.__name__} is tenant-scoped (tables are, unless declared GlobalTable) but has no"
                f" {TENANT_COLUMN} column: derive it from Base (which adds one), or declare it GlobalTable"
            )

    @property
    def tenant_scoped(self) -> bool:
        """Read from the table, never set on the repository: a repository cannot opt its table out of tenancy."""
        return self._tenant_scoped

    # -- construction hooks (override for custom ids or factories) ------------------------------------------
    def new_id(self) -> object:
        """A fresh id: ``Branded.new()`` for branded ids, ``uuid4()`` for plain UUIDs."""
        annotation = self.mapper.entity_type.model_fields["id"].annotation  # type: ignore[attr-defined]
        if isinstance(annotation, type) and issubclass(annotation, Branded):
            return annotation.new()
        if annotation is uuid.UUID:
            return uuid.uuid4()
        raise TypeError(f"{type(self).__name__}: override new_id() for ids of type {annotation!r}")

    def new_entity(self, data: CreateT) -> TEntity:
        build = cast("Callable[..., TEntity]", self.mapper.entity_type)
        return build(id=self.new_id(), **data.model_dump())

    # -- query helpers -------------------------------------------------------------------------------------
    def _column(self, name: str) -> ColumnElement[object]:
        return self._table.c[name]

    def _scope(self) -> list[ColumnElement[bool]]:
        """The tenant condition every statement of a tenant-scoped repository carries (none otherwise)."""
        if not self._tenant_scoped:
            return []
        return [self._column(TENANT_COLUMN) == required_tenant()]

    def _live(self, entity_id: object) -> list[ColumnElement[bool]]:
        return [self._column("id") == entity_id, self._column("deleted_at").is_(None), *self._scope()]

    def _conditions(self, where: Specification[TEntity] | None, include_deleted: bool) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = self._scope()
        if not include_deleted:
            conditions.append(self._column("deleted_at").is_(None))
        if where is not None:
            check_allowed(where.fields(), self.filterable_fields, "filter")
            conditions.append(compile_specification(where, self._column))
        return conditions

    def _scope_values(self) -> dict[str, object]:
        """The bound tenant of ``read_statements``' statements (none for a global table)."""
        return {TENANT: required_tenant()} if self._tenant_scoped else {}

    def _select(self) -> Select[tuple[object, ...]]:
        return table_select(self._table, self.query_hints, self.mapper.entity_type)

    def hinted(self, hints: QueryHints) -> Self:
        """This repository, in the same unit of work, reading with ``hints`` instead of its class's."""
        clone = copy.copy(self)
        clone.query_hints = hints
        return clone

    async def _entities(
        self, statement: Select[tuple[object, ...]], parameters: dict[str, object] | None = None
    ) -> list[TEntity]:
        rows = (await self._uow.execute(statement, parameters)).all()
        return self.mapper.to_entities(rows)  # type: ignore[arg-type]

    # -- reads ---------------------------------------------------------------------------------------------
    async def get_by_id(self, entity_id: TId, *, include_deleted: bool = False) -> TEntity | None:
        statement = by_id(self._table, self.query_hints, self.mapper.entity_type, self._tenant_scoped, include_deleted)
        found = await self._entities(statement, {ID: entity_id, **self._scope_values()})
        return found[0] if found else None

    async def get_all(
        self,
        *,
        where: Specification[TEntity] | None = None,
        sort: Sequence[SortField] = (),
        offset: int = 0,
        limit: int = 50,
        count: CountStrategy = CountStrategy.EXACT,
        include_deleted: bool = False,
    ) -> Page[TEntity]:
        check_window(offset, limit)
        check_allowed(frozenset(spec.name for spec in sort), self.sortable_fields, "sort")
        if where is None:  # an unfiltered listing's statements are built once per order
            return await self._listing(keyset_of(sort), offset, limit, count, include_deleted)
        conditions = self._conditions(where, include_deleted)
        statement = self._select().where(*conditions).order_by(*order_by(self._table, keyset_of(sort)))
        items = await self._entities(statement.offset(offset).limit(limit + 1))
        has_next = len(items) > limit
        seen = offset + len(items[:limit])
        total = await self._total(lambda: conditions, count, seen, has_next, lambda: self.count_where(conditions))
        return Page(items=items[:limit], offset=offset, limit=limit, total=total, has_next=has_next)

    async def _listing(
        self, keyset: tuple[SortField, ...], offset: int, limit: int, count: CountStrategy, include_deleted: bool
    ) -> Page[TEntity]:
        entity, scoped = self.mapper.entity_type, self._tenant_scoped
        statements = listing(self._table, self.query_hints, entity, keyset, scoped, include_deleted)
        scope = self._scope_values()
        items = await self._entities(statements.page, {**scope, OFFSET: offset, LIMIT: limit + 1})
        has_next = len(items) > limit

        async def exact() -> int:
            return (await self._uow.execute(statements.count, scope)).scalar_one()

        conditions = partial(self._conditions, None, include_deleted)  # built only for the planner's estimate
        total = await self._total(conditions, count, offset + len(items[:limit]), has_next, exact)
        return Page(items=items[:limit], offset=offset, limit=limit, total=total, has_next=has_next)

    async def _total(
        self,
        conditions: Callable[[], list[ColumnElement[bool]]],
        strategy: CountStrategy,
        seen: int,
        has_next: bool,
        exact: Callable[[], Awaitable[int]],
    ) -> int | None:
        if strategy is CountStrategy.NONE:
            return None
        if not has_next and (seen > 0 or strategy is CountStrategy.ESTIMATED):
            return seen  # the last page tells the exact total for free
        if strategy is CountStrategy.ESTIMATED and self._uow.dialect.name == "postgresql":
            estimate = await self._estimate(conditions())
            if estimate is not None:
                return max(estimate, seen + int(has_next))
        return await exact()

    async def _estimate(self, conditions: list[ColumnElement[bool]]) -> int | None:
        """The planner's row estimate: no table scan, good enough for page counts of large tables."""
        statement = select(func.count()).select_from(self._table).where(*conditions)
        compiled = statement.compile(dialect=self._uow.dialect, compile_kwargs={"literal_binds": True})
        explained = await self._uow.execute(text(f"EXPLAIN (FORMAT JSON) {compiled}"))
        plan = cast("Any", explained.one()[0])
        rows = plan[0]["Plan"].get("Plans", [{}])[0].get("Plan Rows")
        return int(rows) if rows is not None else None

    async def count_where(self, conditions: list[ColumnElement[bool]]) -> int:
        statement = select(func.count()).select_from(self._table).where(*conditions)
        return (await self._uow.execute(statement)).scalar_one()

    async def get_page(
        self,
        *,
        where: Specification[TEntity] | None = None,
        sort: Sequence[SortField] = (),
        cursor: str | None = None,
        limit: int = 50,
        include_deleted: bool = False,
    ) -> CursorPage[TEntity, str]:
        check_window(0, limit)
        position = None if cursor is None else self._cursors.resume(cursor, sort=sort, where=where)
        if position is not None:  # the cursor carries its listing's order and filter
            sort, where = position.sort, position.where
        check_allowed(frozenset(spec.name for spec in sort), self.sortable_fields, "sort")
        keyset = keyset_of(sort)
        conditions = self._conditions(where, include_deleted)
        if position is not None:
            conditions.append(after(self._table, position.after, keyset))
        statement = self._select().where(*conditions).order_by(*order_by(self._table, keyset)).limit(limit + 1)
        items = await self._entities(statement)
        next_cursor = None
        if len(items) > limit:
            last = items[limit - 1]
            next_cursor = self._cursors.encode([getattr(last, spec.name) for spec in keyset], keyset, where)
        return CursorPage(items=items[:limit], limit=limit, next_cursor=next_cursor)

    async def find(self, where: Specification[TEntity], *, include_deleted: bool = False) -> list[TEntity]:
        statement = self._select().where(*self._conditions(where, include_deleted))
        return await self._entities(statement.order_by(self._column("id")))

    async def exists(self, entity_id: TId) -> bool:
        statement = select(self._column("id")).where(*self._live(entity_id))
        return (await self._uow.execute(statement)).first() is not None

    async def count(self, where: Specification[TEntity] | None = None, *, include_deleted: bool = False) -> int:
        return await self.count_where(self._conditions(where, include_deleted))

    # -- writes --------------------------------------------------------------------------------------------
    def _row(self, entity: TEntity) -> dict[str, object]:
        model = self.mapper.to_model(entity)
        row = {column.key: getattr(model, column.key) for column in self._table.columns}
        if self._tenant_scoped:
            row[TENANT_COLUMN] = required_tenant()
        return row

    async def _insert(self, rows: list[dict[str, object]]) -> None:
        """One INSERT; a unique violation is a ``ConflictError`` and leaves the unit of work usable.

        A savepoint protects the transaction's earlier work only when there is any: an insert that opens the
        transaction (a create use case's) runs bare, and on a conflict the transaction, which holds nothing else, is
        rolled back instead (PostgreSQL refuses every later statement of a failed transaction). That saves a
        ``SAVEPOINT``/``RELEASE`` pair per create.
        """
        session = self._uow.session
        statement = insert(self._table)
        try:
            if session.in_transaction():
                async with session.begin_nested():
                    await session.execute(statement, rows)
            else:
                try:
                    await session.execute(statement, rows)
                except IntegrityError:
                    await session.rollback()
                    raise
        except IntegrityError as exc:
            raise ConflictError(f"a {self.mapper.entity_type.__name__} with the same key already exists") from exc

    async def create(self, data: CreateT, *, actor: str | None = None) -> TEntity:
        entity = self.new_entity(data)
        if isinstance(entity, AuditableEntity):
            entity.record_creator(actor)
        return await self.add(entity)

    async def create_many(self, data: Sequence[CreateT]) -> list[TEntity]:
        entities = [self.new_entity(item) for item in data]
        if entities:
            await self._insert([self._row(entity) for entity in entities])
        for entity in entities:
            self._uow.track(entity)
        return entities

    async def add(self, entity: TEntity) -> TEntity:
        await self._insert([self._row(entity)])
        self._uow.track(entity)
        return entity

    async def _stored_version(self, entity_id: object) -> int | None:
        """The live row's version (0 for unversioned tables); None when there is no live row."""
        has_version = "version" in self._table.c
        column = self._column("version") if has_version else self._column("id")
        statement = select(column).where(*self._live(entity_id))
        found = (await self._uow.session.execute(statement)).first()
        if found is None:
            return None
        return cast("int", found[0]) if has_version else 0

    async def _write(self, entity: TEntity, expected_version: int | None) -> None:
        """One guarded UPDATE; when no row matched, say whether the row is gone or was changed meanwhile."""
        row = self._row(entity)
        guard = self._live(entity.id)
        if expected_version is not None:
            guard.append(self._column("version") == expected_version)
        result = await self._uow.session.execute(update(self._table).where(*guard).values(row))
        if result.rowcount == 1:  # type: ignore[attr-defined]
            self._uow.track(entity)
            return
        current = await self._stored_version(entity.id)
        if current is None:
            raise EntityNotFound(f"{self.mapper.entity_type.__name__} {entity.id} does not exist")
        raise self._conflict(entity.id, current, expected_version)

    def _conflict(self, entity_id: object, current: int, expected: int | None) -> ConcurrencyConflict:
        name = self.mapper.entity_type.__name__
        return ConcurrencyConflict(
            f"{name} {entity_id} is at version {current}, not {expected}; reload and retry",
            extensions={"current_version": current},
        )

    async def update(
        self, entity_id: TId, data: UpdateT, *, expected_version: int | None = None, actor: str | None = None
    ) -> TEntity:
        current = await self.get_by_id(entity_id)
        if current is None:
            raise EntityNotFound(f"{self.mapper.entity_type.__name__} {entity_id} does not exist")
        version: int | None = getattr(current, "version", None)
        if expected_version is not None and version is not None and version != expected_version:
            raise self._conflict(entity_id, version, expected_version)
        changes: dict[str, object] = dict(data.model_dump(exclude_unset=True))
        try:
            for name, value in changes.items():
                setattr(current, name, value)
            if version is not None:
                setattr(current, "version", version + 1)  # noqa: B010 - versioned entities only
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc) from None
        if isinstance(current, AuditableEntity):
            current.record_editor(actor)
        current.touch()
        await self._write(current, version)
        return current

    async def save(self, entity: TEntity) -> TEntity:
        """Write back an aggregate a use case changed; a bound caller is its editor (an order placed by a user
        changes the stock of products as that user). Without one (a job), the last editor stays as it was."""
        version: int | None = getattr(entity, "version", None)
        if version is not None:
            setattr(entity, "version", version + 1)  # noqa: B010 - versioned entities only
        if isinstance(entity, AuditableEntity) and (caller := current_principal()) is not None:
            entity.record_editor(caller.subject)
        entity.touch()
        try:
            await self._write(entity, version)
        except Exception:
            if version is not None:
                setattr(entity, "version", version)  # noqa: B010 - leave the caller's object as it was
            raise
        return entity

    async def delete(self, entity_id: TId, *, hard: bool = False) -> bool:
        if hard or not self.soft_delete:
            hard_delete = delete(self._table).where(self._column("id") == entity_id, *self._scope())
            result = await self._uow.session.execute(hard_delete)
        else:
            moment = utc_now()
            soft = update(self._table).where(*self._live(entity_id)).values(deleted_at=moment, updated_at=moment)
            result = await self._uow.session.execute(soft)
        return bool(result.rowcount)  # type: ignore[attr-defined]
