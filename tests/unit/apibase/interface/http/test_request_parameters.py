"""check_request_parameters: versioned operations refuse query parameters they do not declare, and NULs in paths."""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel, Field

from apibase.interface.http.versioning import ApiVersion, build_versioned_api

pytestmark = pytest.mark.unit


class Paging(BaseModel):
    offset: int = 0
    page_size: int = Field(default=10, alias="page-size")


async def price_filter(price__gte: Annotated[float | None, Query()] = None) -> float | None:
    return price__gte


def build() -> FastAPI:
    router = APIRouter()

    @router.get("/widgets")
    async def list_widgets(
        minimum: Annotated[float | None, Depends(price_filter)],
        sort: str | None = None,
        size: Annotated[int, Query(alias="page-size")] = 10,
    ) -> dict[str, object]:
        return {"minimum": minimum, "sort": sort, "size": size}

    @router.get("/gadgets")
    async def list_gadgets(paging: Annotated[Paging, Query()]) -> dict[str, int]:
        return {"offset": paging.offset, "size": paging.page_size}

    @router.get("/widgets/{widget_id}")
    async def read_widget(widget_id: str) -> dict[str, str]:
        return {"id": widget_id}

    return build_versioned_api([ApiVersion("v1", routers=[router])])


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build()), base_url="http://t") as http:
        return await http.get(url)


async def test_declared_parameters_of_the_operation_and_its_dependencies_pass() -> None:
    response = await get("/api/v1/widgets?price__gte=2&sort=name&page-size=3")
    assert response.json() == {"minimum": 2.0, "sort": "name", "size": 3}


async def test_an_unknown_list_parameter_is_a_422_listing_what_is_accepted() -> None:
    response = await get("/api/v1/widgets?price__gt=5&foo=bar")
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "common.validation_failed"
    assert problem["detail"] == (
        "Unknown query parameters: foo, price__gt. Accepted: page-size, price__gte, sort."
        " A filter is a field name for equality, or the field with one of __gte."
    )
    assert problem["errors"] == [
        {"loc": ["query", "foo"], "message": "unknown query parameter", "type": "query.unknown_parameter"},
        {
            "loc": ["query", "price__gt"],
            "message": "unknown query parameter; did you mean 'price__gte'?",
            "type": "query.unknown_parameter",
        },
    ]


async def test_a_model_of_query_parameters_accepts_its_fields_by_alias() -> None:
    assert (await get("/api/v1/gadgets?offset=2&page-size=5")).json() == {"offset": 2, "size": 5}
    refused = await get("/api/v1/gadgets?page_size=5")
    assert refused.status_code == 422
    assert refused.json()["detail"] == "Unknown query parameter: page_size. Accepted: offset, page-size."


async def test_an_operation_without_query_parameters_refuses_any() -> None:
    response = await get("/api/v1/widgets/w1?expand=all")
    assert response.status_code == 422
    assert response.json()["detail"] == "Unknown query parameter: expand. This operation takes no query parameters."


async def test_a_nul_in_a_path_parameter_names_the_parameter() -> None:
    response = await get("/api/v1/widgets/a%00b")
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["errors"]] == [["path", "widget_id"]]
    assert response.json()["errors"][0]["type"] == "text.nul_character"
