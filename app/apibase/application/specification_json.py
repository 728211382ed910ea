"""Specifications as JSON and back: what lets a keyset cursor carry the filter of the listing it continues.

Only the tree every compiler understands travels (``Comparison``, ``And``, ``Or``, ``Not``, ``TrueSpecification``);
a ``Predicate`` is Python code and has no JSON form. Values go out as JSON (``Decimal`` and datetimes as text) and
come back through ``coerce``, which knows each field's type::

    data = specification_to_json(field("price").ge(Decimal("5")) & field("name").contains("gear"))
    spec = specification_from_json(data, lambda path, operator, value: ...)
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import JsonValue
from pydantic_core import to_jsonable_python

from apibase.domain.specification import And, Comparison, Not, Operator, Or, Specification, TrueSpecification

__all__ = ["ValueCoercion", "specification_from_json", "specification_to_json"]

type ValueCoercion = Callable[[str, Operator, JsonValue], object]
"""``(field path, operator, JSON value) -> value`` in the type the field's comparisons need."""


def specification_to_json[T](spec: Specification[T]) -> JsonValue:
    """The JSON form of ``spec``; ``ValueError`` for a ``Predicate`` (or any node without a JSON form)."""
    match spec:
        case Comparison(path, operator, value):
            converted: JsonValue = to_jsonable_python(value)
            return {"f": path, "o": operator.value, "v": converted}
        case And(left, right):
            return {"and": [specification_to_json(left), specification_to_json(right)]}
        case Or(left, right):
            return {"or": [specification_to_json(left), specification_to_json(right)]}
        case Not(inner):
            return {"not": specification_to_json(inner)}
        case TrueSpecification():
            return {"all": True}
    raise ValueError(f"{spec} has no JSON form: only field comparisons and their combinations do")


def specification_from_json(data: JsonValue, coerce: ValueCoercion) -> Specification[object]:
    """The specification ``specification_to_json`` described; ``ValueError`` for anything else."""
    if isinstance(data, dict):
        match data:
            case {"f": str(path), "o": str(operator), "v": value} if operator in Operator:
                return Comparison(path, Operator(operator), coerce(path, Operator(operator), value))
            case {"and": [left, right]}:
                return And(specification_from_json(left, coerce), specification_from_json(right, coerce))
            case {"or": [left, right]}:
                return Or(specification_from_json(left, coerce), specification_from_json(right, coerce))
            case {"not": inner}:
                return Not(specification_from_json(inner, coerce))
            case {"all": True}:
                return TrueSpecification()
    raise ValueError("not a specification in JSON form")
