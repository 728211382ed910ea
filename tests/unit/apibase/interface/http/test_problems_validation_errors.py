"""A refused request names each parameter or field as the client sent it, once, with the format it expected."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, BeforeValidator, Field
from pydantic.json_schema import SkipJsonSchema

from apibase.interface.http.pattern_formats import describe_pattern, expected_format
from apibase.interface.http.problems import install_problem_handlers
from apibase.interface.http.responses import IfMatchHeader

pytestmark = pytest.mark.unit


def _iso_only(value: object) -> object:
    if isinstance(value, str) and "T" not in value:
        raise ValueError("expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    return value


class Body(BaseModel):
    code: str | int
    date: str = Field(max_length=3)
    when: datetime | None = None
    tags: list[int] = []


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.patch("/things")
    async def patch_things(
        body: Body,
        if_match: IfMatchHeader = None,
        active: Annotated[bool | SkipJsonSchema[None], Query()] = None,
        created_at__gte: Annotated[
            Annotated[datetime, BeforeValidator(_iso_only)] | SkipJsonSchema[None], Query()
        ] = None,
        ids: Annotated[list[int] | SkipJsonSchema[None], Query()] = None,
    ) -> dict[str, str]:
        return {"ok": "yes"}

    return app


async def errors_of(query: str = "", headers: dict[str, str] | None = None, body: object = None) -> list[object]:
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.patch(f"/things{query}", json=body or {"code": "a", "date": "x"}, headers=headers or {})
    assert response.status_code == 422, response.text
    errors: list[object] = response.json()["errors"]
    return errors


async def test_a_bad_boolean_is_one_error_under_the_parameter_name() -> None:
    assert await errors_of("?active=maybe") == [
        {"loc": ["query", "active"], "message": "expected true or false", "type": "bool_parsing"}
    ]


async def test_a_custom_validator_speaks_without_pydantic_labels() -> None:
    assert await errors_of("?created_at__gte=2020-01-01") == [
        {
            "loc": ["query", "created_at__gte"],
            "message": "expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z",
            "type": "value_error",
        }
    ]


async def test_a_malformed_if_match_says_what_an_etag_looks_like_not_its_regex() -> None:
    (error,) = await errors_of(headers={"If-Match": "no quotes"})
    assert error == {
        "loc": ["header", "if-match"],
        "message": 'expected the ETag of a GET, in its double quotes (such as "3f2a9c0d1b7e4a65-7"), up to 16 of them'
        " separated by commas, or *",
        "type": "string_pattern_mismatch",
    }


async def test_list_parameters_keep_the_index_of_the_bad_item() -> None:
    assert await errors_of("?ids=1&ids=x") == [
        {
            "loc": ["query", "ids", 1],
            "message": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        }
    ]


async def test_body_unions_are_one_error_and_real_fields_keep_their_names() -> None:
    body = {"code": [1], "date": "toolong", "when": "soon", "tags": [1, "x"]}
    errors = await errors_of(body=body)
    assert [(error["loc"], error["type"]) for error in errors] == [  # type: ignore[index]
        (["body", "code"], "string_type"),
        (["body", "date"], "string_too_long"),
        (["body", "when"], "datetime_from_date_parsing"),
        (["body", "tags", 1], "int_parsing"),
    ]
    assert errors[2]["message"] == "expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z"  # type: ignore[index]


def test_patterns_read_as_words_when_described_and_as_text_when_short() -> None:
    assert expected_format(describe_pattern(r"^[a-z]{40,80}-described$", "a described thing")) == (
        "expected a described thing"
    )
    assert expected_format(r"^[A-Z]{3}$") == "expected text matching ^[A-Z]{3}$"
    assert "OpenAPI" in expected_format(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
