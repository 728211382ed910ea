"""``utc_date``: the UTC calendar day of a ``UTCDateTime`` column, the same on SQLite and PostgreSQL.

Why not ``func.date``: PostgreSQL casts a ``timestamptz`` to a date in the *session's* time zone, so a report
grouped by day would move sales across midnight with the server's ``TimeZone`` setting. SQLite stores UTC text
already, so ``date()`` of it is the UTC day. Other dialects get no compilation and fail loudly.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, SQLColumnExpression
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["UtcDate", "utc_date"]


class UtcDate(FunctionElement[date]):
    """The day part, in UTC, of an aware timestamp column; comes back as a ``datetime.date``."""

    type = Date()
    name = "utc_date"
    inherit_cache = True


def utc_date(column: SQLColumnExpression[object]) -> UtcDate:
    return UtcDate(column)


@compiles(UtcDate, "sqlite")
def _sqlite(element: UtcDate, compiler: SQLCompiler, **kw: object) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(UtcDate, "postgresql")
def _postgresql(element: UtcDate, compiler: SQLCompiler, **kw: object) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"
