"""A repository's fixed-shape reads, built once per table, hints and scope and run with bound values.

Building ``select(...).where(id == value, ...)`` anew for every request cost more CPU than the database spent
answering it: operator dispatch, bind parameters, and the statement's cache key computed again. These statements
name their parameters instead, so a request only passes values, and SQLAlchemy finds the compiled form through the
cache key memoized on the one statement object. The SQL is the one the per-request statements rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from sqlalchemy import ColumnElement, Integer, Select, Table, and_, bindparam, false, func, or_, select

from apibase.application.pagination import SortField
from apibase.infrastructure.persistence.orm import TENANT_COLUMN
from apibase.infrastructure.persistence.query_hints import QueryHints, table_select

__all__ = ["ID", "LIMIT", "LISTINGS", "OFFSET", "TENANT", "Listing", "after", "by_id", "listing", "order_by"]

#: The names of the bound values the statements take.
ID, TENANT, OFFSET, LIMIT = "apibase_id", "apibase_tenant", "apibase_offset", "apibase_limit"
#: How many listings (table, hints, order, scope) stay built: clients choose the order, so the count is bounded.
LISTINGS = 256


def _plain(table: Table, *, scoped: bool, include_deleted: bool) -> list[ColumnElement[bool]]:
    """The repository's conditions without a filter: its tenant's rows, the live ones unless deleted count."""
    conditions: list[ColumnElement[bool]] = [table.c[TENANT_COLUMN] == bindparam(TENANT)] if scoped else []
    if not include_deleted:
        conditions.append(table.c.deleted_at.is_(None))
    return conditions


def order_by(table: Table, keyset: Sequence[SortField]) -> list[ColumnElement[object]]:
    """NULLs last ascending and first descending: the in-memory order, on every database."""
    return [
        table.c[spec.name].desc().nulls_first() if spec.descending else table.c[spec.name].asc().nulls_last()
        for spec in keyset
    ]


def after(table: Table, values: Sequence[object], keyset: Sequence[SortField]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in keyset order: ``(a > x) OR (a = x AND b > y) OR ...``."""
    clauses = []
    for position, spec in enumerate(keyset):
        equal = [_equal(table.c[keyset[i].name], values[i]) for i in range(position)]
        clauses.append(and_(*equal, _beyond(table.c[spec.name], spec, values[position])))
    return or_(*clauses)


def _equal(column: ColumnElement[object], value: object) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _beyond(column: ColumnElement[object], spec: SortField, value: object) -> ColumnElement[bool]:
    if spec.descending:
        return column.is_not(None) if value is None else column < value
    return false() if value is None else or_(column > value, column.is_(None))


@cache
def by_id(
    table: Table, hints: QueryHints, entity: type, scoped: bool, include_deleted: bool
) -> Select[tuple[object, ...]]:
    """One row by its id (``ID``), in the tenant (``TENANT``) when ``scoped``."""
    conditions = _plain(table, scoped=scoped, include_deleted=include_deleted)
    return table_select(table, hints, entity).where(table.c.id == bindparam(ID), *conditions)


@dataclass(frozen=True, slots=True)
class Listing:
    """An unfiltered listing in one order: its page (``OFFSET``, ``LIMIT``) and its row count."""

    page: Select[tuple[object, ...]]
    count: Select[int]


@lru_cache(maxsize=LISTINGS)
def listing(
    table: Table,
    hints: QueryHints,
    entity: type,
    keyset: tuple[SortField, ...],
    scoped: bool,
    include_deleted: bool,
) -> Listing:
    conditions = _plain(table, scoped=scoped, include_deleted=include_deleted)
    page = table_select(table, hints, entity).where(*conditions).order_by(*order_by(table, keyset))
    return Listing(
        page=page.offset(bindparam(OFFSET, type_=Integer())).limit(bindparam(LIMIT, type_=Integer())),
        count=select(func.count()).select_from(table).where(*conditions),
    )
