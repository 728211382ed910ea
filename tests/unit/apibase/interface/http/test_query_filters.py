"""Filter query parameters: each field's annotation is the filter's kind itself, documented and validated as
``kind | SkipJsonSchema[None]`` would be, without the union FastAPI would walk on every request."""

# No ``from __future__ import annotations``: FastAPI must see the test endpoints' annotations as objects.

import inspect
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

import httpx
import pytest
from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, Field, WithJsonSchema, create_model
from pydantic.json_schema import SkipJsonSchema

from apibase.interface.http.problems import install_problem_handlers
from apibase.interface.http.query_filters import filter_dependency

pytestmark = pytest.mark.unit


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


type Code = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
type Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$"}),
]

FILTER_TYPES: dict[str, object] = {
    "count": int,
    "price": Decimal,
    "amount": Amount,
    "in_stock": bool,
    "day": date,
    "seen": datetime,
    "code": Code,
    "colour": Colour,
    "size": Literal["s", "m", "l"],
    "note": str | None,
    "limited": Annotated[int, Field(ge=0, le=10)],
}
BAD_VALUES = {
    "count": "x",
    "price": "1e",
    "amount": "-1",
    "in_stock": "maybe",
    "day": "2024-13-01",
    "seen": "0.5",
    "code": "abcd",
    "colour": "green",
    "size": "xl",
    "note__contains": "",
    "limited": "11",
}
GOOD_VALUES = {
    "count": "3",
    "price__gte": "1.5",
    "amount": "2.50",
    "in_stock": "true",
    "day__lte": "2024-01-31",
    "seen": "2024-01-31T12:00:00Z",
    "code": "EUR",
    "colour": "red",
    "size": "m",
    "note": "hello",
    "limited__lte": "10",
}


def filters_model(filter_types: dict[str, object]) -> type[BaseModel]:
    annotation = inspect.signature(filter_dependency(filter_types)).parameters["filters"].annotation
    model: type[BaseModel] = get_args(annotation)[0]
    return model


def nullable_twin(model: type[BaseModel]) -> type[BaseModel]:
    """The same filters declared as ``kind | SkipJsonSchema[None]``: the documented and validated reference."""
    fields: dict[str, object] = {}
    for name, info in model.model_fields.items():
        kind = get_args(info.annotation)[0] if _is_union(info.annotation) else info.rebuild_annotation()
        fields[name] = (kind | SkipJsonSchema[None], Field(default=None, description=info.description))
    return create_model("Filters", **fields)  # type: ignore[call-overload,no-any-return]


def _is_union(annotation: object) -> bool:
    return get_origin(annotation) in (Union, UnionType)


def test_every_filter_is_documented_as_its_nullable_twin() -> None:
    model = filters_model(FILTER_TYPES)

    assert model.model_json_schema() == nullable_twin(model).model_json_schema()


def test_only_a_kind_with_its_own_json_schema_keeps_the_union() -> None:
    model = filters_model(FILTER_TYPES)

    unions = sorted(name for name, info in model.model_fields.items() if _is_union(info.annotation))

    assert unions == ["amount", "amount__gte", "amount__lte"]


def problem_app(filters: Callable[..., Awaitable[object]]) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/items")
    async def items(where: Annotated[object, Depends(filters)]) -> str:
        return str(where)

    return app


async def problem(app: FastAPI, query: str) -> tuple[int, dict[str, object]]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get(f"/items?{query}")
    body: dict[str, object] = response.json()
    return response.status_code, {key: value for key, value in body.items() if key not in {"instance", "request_id"}}


@pytest.mark.parametrize(("parameter", "value"), sorted(BAD_VALUES.items()))
async def test_a_bad_value_is_the_problem_it_is_on_the_nullable_twin(parameter: str, value: str) -> None:
    twin = nullable_twin(filters_model(FILTER_TYPES))

    async def twin_filters(filters: Annotated[twin, Query()]) -> object:  # type: ignore[valid-type]
        return filters

    query = f"{parameter}={value}"
    status, answer = await problem(problem_app(filter_dependency(FILTER_TYPES)), query)

    assert status == 422
    assert (status, answer) == await problem(problem_app(twin_filters), query)
    assert [error["loc"] for error in answer["errors"]] == [["query", parameter]]  # type: ignore[index]


def test_good_values_validate_as_on_the_nullable_twin() -> None:
    model = filters_model(FILTER_TYPES)

    assert model.model_validate(GOOD_VALUES).__dict__ == nullable_twin(model).model_validate(GOOD_VALUES).__dict__
    assert all(value is None for value in model.model_validate({}).__dict__.values())
