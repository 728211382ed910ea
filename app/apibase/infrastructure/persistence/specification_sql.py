"""Compile a domain Specification into a SQL WHERE clause with the same truth table as in memory.

SQL has three-valued logic; the domain has two. Two rules make them agree: ``!=`` and ``NOT IN`` also match
NULL (as ``None != x`` is true in Python), and ``NOT`` treats an unknown inner result as false.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, true

from apibase.domain.specification import (
    And,
    Comparison,
    Not,
    Operator,
    Or,
    Predicate,
    Specification,
    TrueSpecification,
)

__all__ = ["compile_specification"]

type Column = ColumnElement[object]


def _compare(column: Column, operator: Operator, value: object) -> ColumnElement[bool]:
    match operator:
        case Operator.EQ:
            return column.is_(None) if value is None else column == value
        case Operator.NE:
            return column.is_not(None) if value is None else or_(column != value, column.is_(None))
        case Operator.LT:
            return column < value
        case Operator.LE:
            return column <= value
        case Operator.GT:
            return column > value
        case Operator.GE:
            return column >= value
        case Operator.IN:
            return column.in_(list(_collection(value)))
        case Operator.NOT_IN:
            return or_(column.not_in(list(_collection(value))), column.is_(None))
        case Operator.CONTAINS:
            return column.contains(str(value), autoescape=True)
        case Operator.STARTS_WITH:
            return column.startswith(str(value), autoescape=True)
        case Operator.IS_NULL:
            return column.is_(None) if value else column.is_not(None)


def _collection(value: object) -> Collection[object]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Collection):
        raise TypeError(f"IN needs a collection of values, got {type(value).__name__}")
    return value


def compile_specification[T](spec: Specification[T], column: Callable[[str], Column]) -> ColumnElement[bool]:
    """``column`` maps a field path to its SQL column; callers check paths against an allowlist first."""
    match spec:
        case Comparison(path=path, operator=operator, value=value):
            return _compare(column(path), operator, value)
        case And(left=left, right=right):
            return and_(compile_specification(left, column), compile_specification(right, column))
        case Or(left=left, right=right):
            return or_(compile_specification(left, column), compile_specification(right, column))
        case Not(inner=inner):
            return not_(func.coalesce(compile_specification(inner, column), false()))
        case TrueSpecification():
            return true()
        case Predicate(name=name):
            raise TypeError(f"predicate {name!r} is Python code and cannot run in SQL; use field comparisons")
    raise TypeError(f"cannot compile {type(spec).__name__} to SQL")
