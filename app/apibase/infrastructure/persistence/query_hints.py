"""Query hints: how a read is carried out (which index, which columns, how relationships load), never what it reads.

Why a value of its own: hints are a tuning decision made once, next to a repository or a report query, not in every
call; a frozen :class:`QueryHints` is shared freely and applies the same way to the repository and the QueryBuilder::

    hints = QueryHints(indexes=(use_index("ix_orders_status"),), columns=("id", "total"), eager=(selectin("lines"),))
    rows = await QueryBuilder(OrderRow).hints(hints).all(session)

What each part does on each database:

* ``indexes`` (``USE``/``FORCE``/``IGNORE INDEX``): rendered on MySQL and MariaDB only, through SQLAlchemy's
  ``with_hint``. PostgreSQL has no index hints (its planner chooses from statistics; the pg_hint_plan extension is
  not assumed), and SQLAlchemy renders none for SQLite: there the hint is a no-op, and what makes the plan is the
  right index and fresh statistics, which ``tests/integration/shop/test_query_plans_postgres.py`` checks with
  ``EXPLAIN``. Index names are checked against the table's indexes, so a typo fails at once and no text reaches
  the SQL unchecked.
* ``columns`` (``load_only``): the ORM loads only these columns of the root model (the primary key always); an
  attribute left out is loaded on first access, which raises under asyncio: read only what was loaded.
* ``eager`` (``selectinload``/``joinedload``): relationships, by name, loaded with the statement instead of one
  query per row; dotted paths (``"lines.product"``) chain the strategy. Every database supports both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, cast

from sqlalchemy import FromClause, Select, Table, inspect, select
from sqlalchemy.orm import (
    DeclarativeBase,
    QueryableAttribute,
    RelationshipProperty,
    joinedload,
    load_only,
    selectinload,
)

if TYPE_CHECKING:
    from sqlalchemy.orm.strategy_options import _AbstractLoad

__all__ = [
    "HINTED_DIALECTS",
    "NO_HINTS",
    "EagerLoad",
    "EagerStrategy",
    "IndexHint",
    "IndexHintKind",
    "QueryHints",
    "columns_except",
    "force_index",
    "ignore_index",
    "joined",
    "selectin",
    "table_select",
    "use_index",
]

#: The dialects that render index hints (SQLAlchemy names MariaDB ``mariadb`` or ``mysql`` by the URL's scheme).
HINTED_DIALECTS = ("mysql", "mariadb")


class IndexHintKind(StrEnum):
    USE = "USE"
    FORCE = "FORCE"
    IGNORE = "IGNORE"


@dataclass(frozen=True, slots=True)
class IndexHint:
    """``<kind> INDEX (indexes...)`` on one table: the root (``table=None``) or a QueryBuilder join by its name."""

    indexes: tuple[str, ...]
    kind: IndexHintKind = IndexHintKind.USE
    table: str | None = None

    def __post_init__(self) -> None:
        if not self.indexes:
            raise ValueError("an index hint needs at least one index name")

    def text(self, table: Table) -> str:
        """The hint's SQL, after checking every name against ``table``'s indexes (and MySQL's ``PRIMARY``)."""
        known = {index.name for index in table.indexes if isinstance(index.name, str)} | {"PRIMARY"}
        unknown = sorted(set(self.indexes) - known)
        if unknown:
            raise ValueError(f"{table.name} has no index {', '.join(unknown)}; it has {', '.join(sorted(known))}")
        return f"{self.kind.value} INDEX ({', '.join(self.indexes)})"


def use_index(*indexes: str, table: str | None = None) -> IndexHint:
    """Let MySQL/MariaDB consider only these indexes."""
    return IndexHint(indexes, IndexHintKind.USE, table)


def force_index(*indexes: str, table: str | None = None) -> IndexHint:
    """Make MySQL/MariaDB prefer these indexes to a table scan."""
    return IndexHint(indexes, IndexHintKind.FORCE, table)


def ignore_index(*indexes: str, table: str | None = None) -> IndexHint:
    """Keep MySQL/MariaDB off these indexes."""
    return IndexHint(indexes, IndexHintKind.IGNORE, table)


class EagerStrategy(StrEnum):
    #: One more ``SELECT ... WHERE key IN (...)`` per relationship level: best for collections.
    SELECTIN = "selectin"
    #: A ``LEFT OUTER JOIN`` in the same statement: best for many-to-one.
    JOINED = "joined"


@dataclass(frozen=True, slots=True)
class EagerLoad:
    """A relationship path (``"lines"`` or ``"lines.product"``) and the strategy that loads it."""

    path: str
    strategy: EagerStrategy = EagerStrategy.SELECTIN

    def loads_joined_collection(self, model: type[DeclarativeBase]) -> bool:
        """Whether a joined load along the path reaches a collection (its rows then repeat the root's)."""
        return self.strategy is EagerStrategy.JOINED and any(step.uselist for step in self._steps(model))

    def _steps(self, model: type[DeclarativeBase]) -> list[RelationshipProperty[object]]:
        steps: list[RelationshipProperty[object]] = []
        owner = model
        for name in self.path.split("."):
            relationship = inspect(owner).relationships.get(name)
            if relationship is None:
                raise ValueError(f"{owner.__name__} has no relationship {name!r}")
            steps.append(relationship)
            owner = relationship.mapper.class_
        return steps

    def option(self, model: type[DeclarativeBase]) -> _AbstractLoad:
        """The ORM loader option, the path resolved relationship by relationship (a wrong name is a ValueError)."""
        load = selectinload if self.strategy is EagerStrategy.SELECTIN else joinedload
        steps = self._steps(model)
        attributes = [cast("QueryableAttribute[object]", step.class_attribute) for step in steps]
        option = load(attributes[0])
        for attribute in attributes[1:]:
            option = getattr(option, load.__name__)(attribute)
        return option


def selectin(path: str) -> EagerLoad:
    return EagerLoad(path, EagerStrategy.SELECTIN)


def joined(path: str) -> EagerLoad:
    return EagerLoad(path, EagerStrategy.JOINED)


@dataclass(frozen=True, slots=True)
class QueryHints:
    """Index hints, a column subset and eager loads; the empty value (the default) changes nothing."""

    indexes: tuple[IndexHint, ...] = ()
    columns: tuple[str, ...] | None = None
    eager: tuple[EagerLoad, ...] = ()

    def __post_init__(self) -> None:
        tables = [hint.table for hint in self.indexes]
        if len(set(tables)) != len(tables):
            raise ValueError("one index hint per table: list its indexes in one hint")
        if self.columns is not None and not self.columns:
            raise ValueError("columns needs at least one column name (None loads them all)")

    def joins_collections(self, model: type[DeclarativeBase]) -> bool:
        return any(eager.loads_joined_collection(model) for eager in self.eager)

    @property
    def shapes_entities(self) -> bool:
        """Whether the hints decide how ORM entities load (columns or eager loads), not only the plan."""
        return self.columns is not None or bool(self.eager)

    def with_indexes[*Ts](self, statement: Select[*Ts], tables: Mapping[str | None, FromClause]) -> Select[*Ts]:
        """``statement`` with each index hint on its table (``tables`` maps hint table names, None the root)."""
        for hint in self.indexes:
            table = tables.get(hint.table)
            if table is None:
                raise ValueError(f"no table {hint.table!r} in the query to hint an index of")
            if not isinstance(table, Table):
                raise TypeError(f"{hint.table!r} is not a table with indexes (a subquery or an alias?)")
            text = hint.text(table)
            for dialect in HINTED_DIALECTS:
                statement = statement.with_hint(table, text, dialect_name=dialect)
        return statement

    def options(self, model: type[DeclarativeBase]) -> list[_AbstractLoad]:
        """The ORM loader options for ``model``: ``load_only`` of :attr:`columns` and the eager loads."""
        loads = [eager.option(model) for eager in self.eager]
        if self.columns is None:
            return loads
        return [load_only(*_attributes(model, self.columns)), *loads]

    def column_names(self, table: Table) -> Sequence[str]:
        """:attr:`columns` checked against ``table`` (every column when None), for Core selects."""
        if self.columns is None:
            return list(table.c.keys())
        unknown = sorted(set(self.columns) - set(table.c.keys()))
        if unknown:
            raise ValueError(f"{table.name} has no column {', '.join(unknown)}")
        return list(self.columns)


@cache
def table_select(table: Table, hints: QueryHints, entity: type) -> Select[tuple[object, ...]]:
    """A repository's ``SELECT`` of ``table`` under ``hints``, built once per triple (a ``Select`` is immutable).

    A column subset may leave out only columns no field of ``entity`` reads: an entity validated from a row without
    one of its columns would take the field's default silently (a product with its description cleared).
    """
    if hints.eager:
        raise ValueError("a repository reads one table's rows: it has no relationships to load eagerly")
    names = hints.column_names(table)
    fields = set(getattr(entity, "model_fields", ()))
    skipped = sorted((fields & set(table.c.keys())) - set(names))
    if skipped:
        raise ValueError(f"{entity.__name__} reads {', '.join(skipped)}: leave out only columns it never reads")
    statement: Select[tuple[object, ...]] = (
        select(table) if hints.columns is None else select(*(table.c[name] for name in names))
    )
    return hints.with_indexes(statement, {None: table, table.name: table})


def columns_except(model: type[DeclarativeBase], *left_out: str) -> tuple[str, ...]:
    """The names of ``model``'s columns but ``left_out``: a column subset written as what it leaves out."""
    columns = inspect(model).columns.keys()
    unknown = sorted(set(left_out) - set(columns))
    if unknown:
        raise ValueError(f"{model.__name__} has no column {', '.join(unknown)}")
    return tuple(name for name in columns if name not in left_out)


#: The default everywhere: no hint at all.
NO_HINTS = QueryHints()


def _attributes(model: type[DeclarativeBase], names: Sequence[str]) -> list[QueryableAttribute[object]]:
    mapped = inspect(model).column_attrs
    unknown = sorted(name for name in names if name not in mapped)
    if unknown:
        raise ValueError(f"{model.__name__} has no column attribute {', '.join(unknown)}")
    return [getattr(model, name) for name in names]
