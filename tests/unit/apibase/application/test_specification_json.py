"""Specifications survive a trip through JSON (what a cursor carries), Python code does not pretend to."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import JsonValue

from apibase.application.specification_json import specification_from_json, specification_to_json
from apibase.domain.specification import Operator, Predicate, TrueSpecification, field

pytestmark = pytest.mark.unit


def as_decimal(path: str, operator: Operator, value: JsonValue) -> object:
    return Decimal(str(value)) if path == "price" else value


def test_every_combinable_node_round_trips() -> None:
    spec = (field("price").ge(Decimal("2.50")) & ~field("name").contains("x")) | TrueSpecification()
    data = specification_to_json(spec)
    assert data == {
        "or": [
            {"and": [{"f": "price", "o": "ge", "v": "2.50"}, {"not": {"f": "name", "o": "contains", "v": "x"}}]},
            {"all": True},
        ]
    }
    assert specification_from_json(data, as_decimal) == spec


def test_a_predicate_has_no_json_form() -> None:
    with pytest.raises(ValueError, match="no JSON form"):
        specification_to_json(field("a").eq(1) & Predicate("odd", bool))


@pytest.mark.parametrize("data", [None, [], {"f": "a", "o": "like", "v": 1}, {"and": [{"all": True}]}, {"x": 1}])
def test_anything_else_is_refused(data: JsonValue) -> None:
    with pytest.raises(ValueError, match="not a specification"):
        specification_from_json(data, as_decimal)
