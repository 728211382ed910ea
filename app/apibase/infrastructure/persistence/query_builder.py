"""QueryBuilder: fluent, immutable, typed SELECTs over an ORM model, for the reads a repository does not cover.

Why: the repository answers "entities matching a specification, one page at a time"; reports also need joins,
projections and aggregates. The builder keeps the repository's rules (allowlisted field names, NULLS LAST ascending
and FIRST descending, soft-deleted rows hidden, bounded pages) so ad-hoc reads cannot drift from them, and every
value reaches the database as a bound parameter, never as SQL text.

Every method returns a new builder, so a base query can be shared and refined::

    orders = QueryBuilder(OrderRow, filterable={"status", "amount", "customers.name"}).join(CustomerRow)
    paid = orders.where(field("status").eq("paid"), OrderRow.amount > 10)

    page = await paid.order_by(SortField("amount", descending=True)).paginate(0, 20).all(session)  # list[OrderRow]
    total = await paid.count_rows(session)  # int, ignoring order and page
    pairs = await paid.select(OrderRow.id, CustomerRow.name.label("customer")).all(session)  # list[dict[str, object]]

    per_status = await orders.group_by(OrderRow.status).count().sum(OrderRow.amount).avg(OrderRow.amount).all(session)
    row = per_status[0]  # an AggregateRow; groups come ordered by their keys unless told otherwise
    row.group["status"], row["count"], row["sum"], row["avg"]  # "paid", 2, Decimal("30.50"), Decimal("15.25")
    totals = await orders.aggregate(n=Count(), total=Sum(OrderRow.amount)).one(session)  # ungrouped: one row
    revenue = await paid.sum(OrderRow.amount).value(session)  # a single aggregate's value

Three result shapes share :class:`QueryBase`'s ``where``, ``order_by``, ``paginate``, ``join``,
``include_deleted``, ``hints`` (index hints; load_only and eager loads for entity rows: see ``query_hints``) and
``count_rows``; each has ``build()``, ``await all(session)`` and ``await first(session)``:

* ``QueryBuilder[T]``: rows are model instances ``T``;
* ``ProjectionQuery`` (from ``.select(...)``): rows are ``dict[str, object]`` keyed by column name or label;
* ``AggregateQuery`` (from ``.group_by``, ``.aggregate``, ``.count``, ``.sum``, ``.avg``, ``.min``, ``.max``,
  refined with ``.having``): one :class:`AggregateRow` per group; ``one``/``value`` for ungrouped aggregates.

Field names in specifications and ``SortField`` are ``column`` for the root model and ``<join>.column`` for a
joined table (the join name defaults to the table name); an aggregate query can also sort by aggregate names.
Unknown or non-allowlisted names raise ``ValidationFailed``: they usually come from a request. Soft-deleted rows
(a non-NULL ``deleted_at``) are hidden unless ``include_deleted()``: the root's in WHERE, a joined table's in the
join's ON clause, so an outer join yields NULLs for them instead of dropping the row. ``join(...,
include_deleted=True)`` keeps one joined table's soft-deleted rows (a report still names a product deleted since
it was sold) while the rest of the query still hides them.

SUM, MIN and MAX keep the column's type (an ``ExactDecimal`` sums to a ``Decimal`` on SQLite too); AVG is computed
as SUM / COUNT in ``Decimal`` arithmetic (float columns stay float), because SQLite's AVG is a lossy float: the
result is the same on every database. Aggregates ignore the entity query's order and page: they summarise every
matching row.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Self, cast

from sqlalchemy import (
    ColumnElement,
    FromClause,
    ScalarResult,
    Select,
    SQLColumnExpression,
    UnaryExpression,
    and_,
    distinct,
    func,
    inspect,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.selectable import NamedFromClause

from apibase.application.pagination import SortField
from apibase.application.query_guards import MAX_LIMIT
from apibase.core.errors import FieldError, ValidationFailed
from apibase.domain.specification import Specification
from apibase.infrastructure.persistence.query_hints import NO_HINTS, QueryHints
from apibase.infrastructure.persistence.specification_sql import compile_specification

__all__ = [
    "SOFT_DELETE_COLUMN",
    "Aggregate",
    "AggregateQuery",
    "AggregateRow",
    "Avg",
    "Count",
    "Max",
    "Min",
    "ProjectionQuery",
    "QueryBase",
    "QueryBuilder",
    "Sum",
    "ascending",
    "descending",
]

SOFT_DELETE_COLUMN = "deleted_at"

type Expression = SQLColumnExpression[object]
type Condition = SQLColumnExpression[bool]
type JoinTarget = type[DeclarativeBase] | NamedFromClause


def ascending(column: Expression) -> ColumnElement[object]:
    """Ascending with NULLs last: the order the repository and the in-memory store use."""
    return column.asc().nulls_last()


def descending(column: Expression) -> ColumnElement[object]:
    """Descending with NULLs first: the exact reverse of :func:`ascending`."""
    return column.desc().nulls_first()


# -- aggregates ------------------------------------------------------------------------------------------------
class Aggregate(ABC):
    """One aggregate of an :class:`AggregateQuery`; it may need several SQL columns to compute its value."""

    @abstractmethod
    def labels(self, name: str) -> tuple[Expression, ...]:
        """The SQL columns this aggregate selects, labelled from its result name."""

    def value(self, selected: Sequence[object]) -> object:
        """The result from the values of :meth:`labels`, in order."""
        return selected[0]

    def order_expression(self, name: str) -> Expression:
        """What ``SortField(name)`` orders by."""
        return self.labels(name)[0]


# eq=False on every aggregate: ``==`` between SQL expressions builds SQL, so generated equality would be wrong.
@dataclass(frozen=True, eq=False)
class Count(Aggregate):
    """``COUNT(*)``, or non-NULL values of ``column`` (distinct ones with ``distinct=True``)."""

    column: Expression | None = None
    distinct: bool = False

    def labels(self, name: str) -> tuple[Expression, ...]:
        if self.column is None:
            return (func.count().label(name),)
        counted = distinct(self.column) if self.distinct else self.column
        return (func.count(counted).label(name),)


@dataclass(frozen=True, eq=False)
class Sum(Aggregate):
    """``SUM(column)``: the column's type, NULL (None) over no rows."""

    column: Expression

    def labels(self, name: str) -> tuple[Expression, ...]:
        return (func.sum(self.column).label(name),)


@dataclass(frozen=True, eq=False)
class Min(Aggregate):
    """``MIN(column)`` in the column's type (and collation, for text)."""

    column: Expression

    def labels(self, name: str) -> tuple[Expression, ...]:
        return (func.min(self.column).label(name),)


@dataclass(frozen=True, eq=False)
class Max(Aggregate):
    """``MAX(column)`` in the column's type (and collation, for text)."""

    column: Expression

    def labels(self, name: str) -> tuple[Expression, ...]:
        return (func.max(self.column).label(name),)


@dataclass(frozen=True, eq=False)
class Avg(Aggregate):
    """The mean of the non-NULL values as SUM / COUNT: ``Decimal`` for exact columns, None over no values."""

    column: Expression

    def labels(self, name: str) -> tuple[Expression, ...]:
        return (func.sum(self.column).label(f"{name}_sum"), func.count(self.column).label(f"{name}_count"))

    def value(self, selected: Sequence[object]) -> object:
        total, count = selected
        if not isinstance(count, int) or count == 0 or total is None:
            return None
        if isinstance(total, float):
            return total / count
        return Decimal(str(total)) / count

    def order_expression(self, name: str) -> Expression:
        return func.avg(self.column)


@dataclass(frozen=True)
class AggregateRow:
    """One group: its key columns in ``group`` and the aggregates in ``values``; ``row[name]`` reads either."""

    group: Mapping[str, object]
    values: Mapping[str, object]

    def __getitem__(self, name: str) -> object:
        return self.values[name] if name in self.values else self.group[name]


# -- state -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Source:
    """A table reachable from field names: the root model or one join."""

    name: str
    table: FromClause
    columns: Mapping[str, ColumnElement[object]]


@dataclass(frozen=True, slots=True)
class _Join:
    source: _Source
    onclause: ColumnElement[bool]
    outer: bool
    include_deleted: bool = False


@dataclass(frozen=True, slots=True)
class _QueryState:
    """Everything a query is made of; frozen so that derived builders never share mutable parts."""

    root: _Source
    filterable: frozenset[str] | None
    sortable: frozenset[str] | None
    joins: tuple[_Join, ...] = ()
    conditions: tuple[Condition, ...] = ()
    order: tuple[ColumnElement[object], ...] = ()
    offset: int | None = None
    limit: int | None = None
    include_deleted: bool = False
    columns: tuple[Expression, ...] = ()
    groups: tuple[Expression, ...] = ()
    aggregates: tuple[tuple[str, Aggregate], ...] = ()
    having: tuple[Condition, ...] = ()
    hints: QueryHints = NO_HINTS

    def source(self, name: str) -> _Source | None:
        return next((source for source in self.sources() if source.name == name), None)

    def sources(self) -> Iterator[_Source]:
        yield self.root
        yield from (join.source for join in self.joins)

    def resolve(self, path: str) -> ColumnElement[object] | None:
        prefix, _, name = path.rpartition(".")
        source = self.root if not prefix else self.source(prefix)
        return None if source is None else source.columns.get(name)

    def from_clause(self, *, include_deleted: bool) -> FromClause:
        """The root joined to every target; a joined table's soft-deleted rows are excluded in its ON clause."""
        clause = self.root.table
        for join in self.joins:
            onclause = join.onclause
            if not (include_deleted or join.include_deleted) and SOFT_DELETE_COLUMN in join.source.table.c:
                onclause = and_(onclause, join.source.table.c[SOFT_DELETE_COLUMN].is_(None))
            clause = clause.join(join.source.table, onclause, isouter=join.outer)
        return clause

    def hinted_tables(self) -> dict[str | None, FromClause]:
        """The tables an index hint may name: the root as None or by its name, and each join by its name."""
        return {None: self.root.table, **{source.name: source.table for source in self.sources()}}

    def where(self) -> list[Condition]:
        conditions = list(self.conditions)
        if not self.include_deleted and SOFT_DELETE_COLUMN in self.root.table.c:
            conditions.insert(0, self.root.table.c[SOFT_DELETE_COLUMN].is_(None))
        return conditions

    def finish[*Ts](self, statement: Select[*Ts], *, ordered: bool = True, paged: bool = True) -> Select[*Ts]:
        statement = statement.select_from(self.from_clause(include_deleted=self.include_deleted))
        statement = statement.where(*self.where())
        statement = self.hints.with_indexes(statement, self.hinted_tables())
        if ordered:
            statement = statement.order_by(*self.order)
        if paged and self.offset:
            statement = statement.offset(self.offset)
        if paged and self.limit is not None:
            statement = statement.limit(self.limit)
        return statement


def _source(target: JoinTarget, name: str | None) -> _Source:
    if isinstance(target, NamedFromClause):
        columns: Mapping[str, ColumnElement[object]] = dict(target.c.items())
        return _Source(name or target.name, target, columns)
    mapper = inspect(target)
    table = mapper.local_table
    default = table.name if isinstance(table, NamedFromClause) else target.__name__
    return _Source(name or default, table, dict(mapper.columns.items()))


def _unknown_fields(names: Collection[str], what: str, allowed: frozenset[str] | None) -> ValidationFailed:
    errors = [
        FieldError(loc=(what, name), message=f"cannot {what} by {name!r}", type=f"{what}.unknown_field")
        for name in sorted(names)
    ]
    hint = f"allowed {what} fields: {', '.join(sorted(allowed))}" if allowed is not None else f"unknown {what} field"
    return ValidationFailed.from_field_errors(errors, hint)


# -- builders --------------------------------------------------------------------------------------------------
class QueryBase:
    """Filtering, ordering, paging and joins, shared by every result shape; each call returns a new query."""

    def __init__(self, state: _QueryState) -> None:
        self._state = state

    def _evolve(self, state: _QueryState) -> Self:
        clone = copy.copy(self)
        clone._state = state
        return clone

    def _columns(
        self, names: Collection[str], what: str, allowed: frozenset[str] | None
    ) -> dict[str, ColumnElement[object]]:
        """Resolve field names against the tables in the query, refusing unknown or non-allowlisted ones."""
        resolved = {name: self._state.resolve(name) for name in names}
        unknown = [
            name for name, column in resolved.items() if column is None or (allowed is not None and name not in allowed)
        ]
        if unknown:
            raise _unknown_fields(unknown, what, allowed)
        return {name: column for name, column in resolved.items() if column is not None}

    def where[S](self, *conditions: Specification[S] | Condition) -> Self:
        """AND the conditions in: domain specifications (field names checked) or SQLAlchemy boolean expressions."""
        compiled: list[Condition] = []
        for condition in conditions:
            if isinstance(condition, Specification):
                columns = self._columns(condition.fields(), "filter", self._state.filterable)
                compiled.append(compile_specification(condition, columns.__getitem__))
            else:
                compiled.append(condition)
        return self._evolve(replace(self._state, conditions=(*self._state.conditions, *compiled)))

    def _sort_column(self, name: str) -> Expression:
        return self._columns([name], "sort", self._state.sortable)[name]

    def order_by(self, *keys: SortField | Expression) -> Self:
        """Append sort keys: ``SortField`` by name, or expressions (plain ones ascend with NULLs last)."""
        order: list[ColumnElement[object]] = []
        for key in keys:
            if isinstance(key, SortField):
                column = self._sort_column(key.name)
                order.append(descending(column) if key.descending else ascending(column))
            elif isinstance(key, UnaryExpression) and key.modifier is not None:
                order.append(key)  # already says asc/desc/nulls: keep the caller's choice
            else:
                order.append(ascending(key))
        return self._evolve(replace(self._state, order=(*self._state.order, *order)))

    def paginate(self, offset: int, limit: int) -> Self:
        """One window of rows; the bounds match the repository's so no query can ask for an unbounded page."""
        if offset < 0 or not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(f"offset must be >= 0 and limit between 1 and {MAX_LIMIT}")
        return self._evolve(replace(self._state, offset=offset, limit=limit))

    def join(
        self,
        target: JoinTarget,
        onclause: Condition | None = None,
        *,
        outer: bool = False,
        name: str | None = None,
        include_deleted: bool = False,
    ) -> Self:
        """Join a model or table; without ``onclause`` the foreign key decides. ``name`` prefixes its field names;
        ``include_deleted`` keeps this table's soft-deleted rows whatever the query's own setting."""
        source = _source(target, name)
        if self._state.source(source.name) is not None:
            raise ValueError(f"{source.name!r} is already in the query; pass name= to join it again")
        left = self._state.from_clause(include_deleted=True)
        joined = left.join(source.table, onclause, isouter=outer)  # resolves the foreign key now, failing early
        join = _Join(source, cast("ColumnElement[bool]", joined.onclause), outer, include_deleted)
        return self._evolve(replace(self._state, joins=(*self._state.joins, join)))

    def include_deleted(self, include: bool = True) -> Self:
        """Also return soft-deleted rows (of the root and of joined tables)."""
        return self._evolve(replace(self._state, include_deleted=include))

    def hints(self, hints: QueryHints) -> Self:
        """Read with these hints (see ``query_hints``); column subsets and eager loads are for entity rows only."""
        if hints.shapes_entities and not isinstance(self, QueryBuilder):
            raise ValueError("columns and eager loads shape entity rows; a projection or aggregate selects its own")
        return self._evolve(replace(self._state, hints=hints))

    def _count_statement(self) -> Select[int]:
        return self._state.finish(select(func.count()), ordered=False, paged=False)

    async def count_rows(self, session: AsyncSession) -> int:
        """How many rows (or groups) match, ignoring order and page: the total behind a page."""
        return int((await session.execute(self._count_statement())).scalar_one())


class QueryBuilder[T: DeclarativeBase](QueryBase):
    """Rows of one ORM model; derive projections and aggregates from it with ``select`` or ``group_by``/...."""

    def __init__(
        self,
        model: type[T],
        *,
        filterable: Collection[str] | None = None,
        sortable: Collection[str] | None = None,
    ) -> None:
        """``filterable``/``sortable`` allowlist field names (None: any column of the query's tables)."""
        super().__init__(
            _QueryState(
                root=_source(model, None),
                filterable=None if filterable is None else frozenset(filterable),
                sortable=None if sortable is None else frozenset(sortable),
            )
        )
        self._model = model

    def build(self) -> Select[T]:
        statement = self._state.finish(select(self._model))
        options = self._state.hints.options(self._model)
        return statement.options(*options) if options else statement

    async def _scalars(self, session: AsyncSession, statement: Select[T]) -> ScalarResult[T]:
        result = await session.scalars(statement)
        # A joined eager load of a collection repeats the root row per child: the ORM needs them made unique.
        return result.unique() if self._state.hints.joins_collections(self._model) else result

    async def all(self, session: AsyncSession) -> list[T]:
        return list((await self._scalars(session, self.build())).all())

    async def first(self, session: AsyncSession) -> T | None:
        return (await self._scalars(session, self.build().limit(1))).first()

    def select(self, *columns: Expression) -> ProjectionQuery:
        """Only these columns, as dicts keyed by column name (label expressions to name them)."""
        if not columns:
            raise ValueError("select() needs at least one column")
        return ProjectionQuery(replace(self._state, columns=columns))

    def _aggregating(self) -> AggregateQuery:
        return AggregateQuery(replace(self._state, order=(), offset=None, limit=None))

    def group_by(self, *columns: Expression) -> AggregateQuery:
        return self._aggregating().group_by(*columns)

    def aggregate(self, **aggregates: Aggregate) -> AggregateQuery:
        return self._aggregating().aggregate(**aggregates)

    def count(self, column: Expression | None = None, *, distinct: bool = False, name: str = "count") -> AggregateQuery:
        return self._aggregating().count(column, distinct=distinct, name=name)

    def sum(self, column: Expression, *, name: str = "sum") -> AggregateQuery:
        return self._aggregating().sum(column, name=name)

    def avg(self, column: Expression, *, name: str = "avg") -> AggregateQuery:
        return self._aggregating().avg(column, name=name)

    def min(self, column: Expression, *, name: str = "min") -> AggregateQuery:
        return self._aggregating().min(column, name=name)

    def max(self, column: Expression, *, name: str = "max") -> AggregateQuery:
        return self._aggregating().max(column, name=name)


class ProjectionQuery(QueryBase):
    """Chosen columns of the matching rows; made by :meth:`QueryBuilder.select`."""

    def build(self) -> Select[*tuple[object, ...]]:
        return self._state.finish(select(*self._state.columns))

    @staticmethod
    async def _rows(session: AsyncSession, statement: Select[*tuple[object, ...]]) -> list[dict[str, object]]:
        result = await session.execute(statement)
        keys = list(result.keys())
        return [dict(zip(keys, row, strict=True)) for row in result]

    async def all(self, session: AsyncSession) -> list[dict[str, object]]:
        return await self._rows(session, self.build())

    async def first(self, session: AsyncSession) -> dict[str, object] | None:
        rows = await self._rows(session, self.build().limit(1))
        return rows[0] if rows else None


class AggregateQuery(QueryBase):
    """Aggregates over the matching rows, per group when grouped; made by ``QueryBuilder.group_by`` and friends."""

    def group_by(self, *columns: Expression) -> Self:
        if not columns:
            raise ValueError("group_by() needs at least one column")
        return self._evolve(replace(self._state, groups=(*self._state.groups, *columns)))

    def aggregate(self, **aggregates: Aggregate) -> Self:
        """Add named aggregates: ``.aggregate(n=Count(), total=Sum(OrderRow.amount))``."""
        if not aggregates:
            raise ValueError("aggregate() needs at least one named aggregate")
        taken = {name for name, _ in self._state.aggregates}
        duplicated = sorted(taken & aggregates.keys())
        if duplicated:
            raise ValueError(f"aggregate names already used: {', '.join(duplicated)}; pass name= to tell them apart")
        added = tuple(aggregates.items())
        return self._evolve(replace(self._state, aggregates=(*self._state.aggregates, *added)))

    def count(self, column: Expression | None = None, *, distinct: bool = False, name: str = "count") -> Self:
        return self.aggregate(**{name: Count(column, distinct)})

    def sum(self, column: Expression, *, name: str = "sum") -> Self:
        return self.aggregate(**{name: Sum(column)})

    def avg(self, column: Expression, *, name: str = "avg") -> Self:
        return self.aggregate(**{name: Avg(column)})

    def min(self, column: Expression, *, name: str = "min") -> Self:
        return self.aggregate(**{name: Min(column)})

    def max(self, column: Expression, *, name: str = "max") -> Self:
        return self.aggregate(**{name: Max(column)})

    def having(self, *conditions: Condition) -> Self:
        """Filter groups with SQLAlchemy expressions over aggregates, e.g. ``func.count() > 1``."""
        return self._evolve(replace(self._state, having=(*self._state.having, *conditions)))

    def _group_names(self) -> list[str]:
        return list(select(*self._state.groups).selected_columns.keys()) if self._state.groups else []

    def _sort_column(self, name: str) -> Expression:
        """Aggregate names and group labels first, then the tables' columns."""
        for aggregate_name, aggregate in self._state.aggregates:
            if aggregate_name == name:
                return aggregate.order_expression(name)
        names = self._group_names()
        if name in names:
            return self._state.groups[names.index(name)]
        return super()._sort_column(name)

    def _statement(self, *, ordered: bool, paged: bool) -> Select[*tuple[object, ...]]:
        state = self._state
        labels = [label for name, aggregate in state.aggregates for label in aggregate.labels(name)]
        statement = select(*state.groups, *labels)
        statement = state.finish(statement, ordered=ordered, paged=paged).group_by(*state.groups)
        statement = statement.having(*state.having)
        if ordered and not state.order:
            statement = statement.order_by(*(ascending(group) for group in state.groups))
        return statement

    def build(self) -> Select[*tuple[object, ...]]:
        return self._statement(ordered=True, paged=True)

    def _count_statement(self) -> Select[int]:
        return select(func.count()).select_from(self._statement(ordered=False, paged=False).subquery())

    async def _rows(self, statement: Select[*tuple[object, ...]], session: AsyncSession) -> list[AggregateRow]:
        result = await session.execute(statement)
        width = len(self._state.groups)
        keys = list(result.keys())[:width]
        rows: list[AggregateRow] = []
        for row in result:
            selected = tuple(row)
            values: dict[str, object] = {}
            position = width
            for name, aggregate in self._state.aggregates:
                size = len(aggregate.labels(name))
                values[name] = aggregate.value(selected[position : position + size])
                position += size
            rows.append(AggregateRow(group=dict(zip(keys, selected[:width], strict=True)), values=values))
        return rows

    async def all(self, session: AsyncSession) -> list[AggregateRow]:
        return await self._rows(self.build(), session)

    async def first(self, session: AsyncSession) -> AggregateRow | None:
        rows = await self._rows(self.build().limit(1), session)
        return rows[0] if rows else None

    async def one(self, session: AsyncSession) -> AggregateRow:
        """The single row of an ungrouped aggregate (SQL always returns one, even over no rows)."""
        if self._state.groups:
            raise ValueError("one() is for ungrouped aggregates; use all() per group")
        rows = await self._rows(self.build(), session)
        if len(rows) != 1:
            raise LookupError(f"expected one aggregate row, got {len(rows)}")
        return rows[0]

    async def value(self, session: AsyncSession) -> object:
        """The value of the only aggregate of an ungrouped query: ``await qb.sum(col).value(session)``."""
        if len(self._state.aggregates) != 1:
            raise ValueError("value() needs exactly one aggregate")
        (name, _), row = self._state.aggregates[0], await self.one(session)
        return row.values[name]
