"""create_crud_router over an in-memory widget service: every endpoint, every status it can produce.

The widgets here are public (``public=ALL_OPERATIONS``): these tests are about what the endpoints do; who may call
them is ``test_crud_security.py``'s subject.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryRepository, InMemoryUnitOfWork
from apibase.application.mapper import GenericMapper
from apibase.application.service import GenericService
from apibase.interface.http.crud import ALL_OPERATIONS, CrudOperation, CrudResource, Pagination, create_crud_router
from apibase.interface.http.problems import install_problem_handlers
from apibase.testing.roundtrip import assert_resources_round_trip
from apibase.testing.widgets import WIDGET_FIELDS, Widget, WidgetCreate, WidgetUpdate, new_widget

pytestmark = pytest.mark.unit


@dataclass
class WidgetRow:
    id: uuid.UUID
    name: str
    price: Decimal
    quantity: int
    category: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class WidgetOut(WidgetCreate):
    id: uuid.UUID
    version: int


class Widgets(InMemoryRepository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID]):
    filterable_fields = WIDGET_FIELDS
    sortable_fields = WIDGET_FIELDS


type WidgetService = GenericService[Widget, WidgetCreate, WidgetUpdate, WidgetOut, uuid.UUID]


def build(
    pagination: Pagination = Pagination.OFFSET,
    repository: Widgets | None = None,
    unit_of_work: type[InMemoryUnitOfWork] = InMemoryUnitOfWork,
    **options: object,
) -> FastAPI:
    repository = repository or Widgets(Widget, new_widget, cursor_codec=CursorCodec("crud-router-test-secret"))
    service: WidgetService = GenericService(
        unit_of_work=lambda: unit_of_work(repository),
        repository=lambda uow: repository,
        mapper=GenericMapper(entity=Widget, model=WidgetRow, response=WidgetOut),
    )
    resource = CrudResource(
        name="widget",
        plural="widgets",
        service=lambda: service,
        id_type=uuid.UUID,
        create_model=WidgetCreate,
        update_model=WidgetUpdate,
        response_model=WidgetOut,
        filter_types={"name": str, "price": Decimal, "category": str | None},  # type: ignore[dict-item]
        sortable_fields=frozenset({"name", "price"}),
        pagination=pagination,
        max_page_size=100,
        **{  # type: ignore[arg-type]
            "create_example": {"name": "gear", "price": "9.99", "quantity": 3},
            "public": ALL_OPERATIONS,
            **options,
        },
    )
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(create_crud_router(resource))
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build()), base_url="http://test") as http:
        yield http


async def create(client: httpx.AsyncClient, name: str = "gear", price: str = "9.99") -> dict[str, object]:
    response = await client.post("/widgets", json={"name": name, "price": price, "quantity": 1})
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()["data"]
    return data


async def test_create_returns_201_with_location_etag_and_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post("/widgets", json={"name": "gear", "price": "9.99", "quantity": 2})
    assert response.status_code == 201
    body = response.json()
    assert body["data"]["name"] == "gear"
    assert body["meta"]["timestamp"].endswith(("Z", "+00:00"))
    assert response.headers["location"] == f"/widgets/{body['data']['id']}"
    assert response.headers["etag"]


async def test_read_then_conditional_read_is_304(client: httpx.AsyncClient) -> None:
    created = await create(client)
    response = await client.get(f"/widgets/{created['id']}")
    assert response.status_code == 200
    etag = response.headers["etag"]
    again = await client.get(f"/widgets/{created['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert again.content == b""


async def test_missing_and_malformed_ids_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"/widgets/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "common.not_found"
    malformed = await client.get("/widgets/not-a-uuid")
    assert malformed.status_code == 422


async def test_patch_with_current_etag_succeeds_and_with_stale_etag_is_412(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url = f"/widgets/{created['id']}"
    etag = (await client.get(url)).headers["etag"]
    updated = await client.patch(url, json={"price": "1.50"}, headers={"If-Match": etag})
    assert updated.status_code == 200
    assert updated.json()["data"]["price"] == "1.50"
    assert updated.headers["etag"] != etag
    stale = await client.patch(url, json={"price": "2.00"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["code"] == "common.precondition_failed"
    assert (await client.get(url)).json()["data"]["price"] == "1.50"


async def test_put_replaces_and_validates_the_full_body(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url = f"/widgets/{created['id']}"
    replaced = await client.put(url, json={"name": "cog", "price": "3.00", "quantity": 7})
    assert replaced.status_code == 200
    assert (replaced.json()["data"]["name"], replaced.json()["data"]["quantity"]) == ("cog", 7)
    partial = await client.put(url, json={"name": "cog"})
    assert partial.status_code == 422


async def test_put_takes_back_what_get_shows_and_ignores_the_read_only_fields(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url = f"/widgets/{created['id']}"
    shown = (await client.get(url)).json()["data"]
    assert set(shown) == {"id", "version", "name", "price", "quantity", "category"}

    replaced = await client.put(url, json={**shown, "name": "cog", "id": str(uuid.uuid4()), "version": 99})

    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["data"] == {**shown, "name": "cog", "version": 2}
    malformed = await client.put(url, json={**shown, "version": "latest"})
    assert malformed.status_code == 422
    unknown = await client.put(url, json={**shown, "colour": "red"})
    assert unknown.status_code == 422


async def test_the_put_schema_marks_the_read_only_fields() -> None:
    schema = build().openapi()
    body = schema["paths"]["/widgets/{entity_id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    replace = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    read_only = {name for name, field in replace["properties"].items() if field.get("readOnly")}

    assert read_only == {"id", "version"}
    assert set(replace["required"]) == {"name", "price"}
    assert replace["additionalProperties"] is False


async def test_a_frozen_contract_keeps_put_to_the_create_model() -> None:
    app = build(replace_accepts_read_only=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        shown = await create(http)
        refused = await http.put(f"/widgets/{shown['id']}", json=shown)

        assert refused.status_code == 422
        with pytest.raises(AssertionError, match="cannot take back"):
            await assert_resources_round_trip(http, "/openapi.json")


async def test_the_round_trip_kit_checks_every_put_resource(client: httpx.AsyncClient) -> None:
    assert await assert_resources_round_trip(client, "/openapi.json") == ["/widgets"]


async def test_the_round_trip_kit_needs_an_example_to_create_from() -> None:
    app = build(create_example=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        with pytest.raises(AssertionError, match="declares no request example"):
            await assert_resources_round_trip(http, "/openapi.json")


async def test_delete_then_gone_and_stale_delete_is_412(client: httpx.AsyncClient) -> None:
    first, second = await create(client, "a"), await create(client, "b")
    stale_etag = (await client.get(f"/widgets/{second['id']}")).headers["etag"]
    await client.patch(f"/widgets/{second['id']}", json={"name": "b2"})
    assert (await client.delete(f"/widgets/{second['id']}", headers={"If-Match": stale_etag})).status_code == 412
    assert (await client.delete(f"/widgets/{first['id']}")).status_code == 204
    assert (await client.get(f"/widgets/{first['id']}")).status_code == 404
    assert (await client.delete(f"/widgets/{first['id']}")).status_code == 404


async def test_list_filters_sorts_and_pages(client: httpx.AsyncClient) -> None:
    for name, price in [("alpha", "3.00"), ("beta", "1.00"), ("gamma", "2.00"), ("alps", "5.00")]:
        await create(client, name, price)
    page = (await client.get("/widgets", params={"sort": "-price", "limit": 2})).json()
    assert [item["name"] for item in page["items"]] == ["alps", "alpha"]
    assert (page["total"], page["has_next"], page["next_offset"], page["total_pages"]) == (4, True, 2, 2)
    cheap = (await client.get("/widgets", params={"price__lte": "2.00", "sort": "price"})).json()
    assert [item["name"] for item in cheap["items"]] == ["beta", "gamma"]
    named = (await client.get("/widgets", params={"name__contains": "al", "count": "none"})).json()
    assert {item["name"] for item in named["items"]} == {"alpha", "alps"}
    assert named["total"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "secret"},
        {"sort": "price;DROP TABLE widgets"},
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"offset": -5},
        {"price__gte": "cheap"},
        {"count": "sometimes"},
    ],
)
async def test_bad_list_parameters_are_4xx_problems(client: httpx.AsyncClient, params: dict[str, object]) -> None:
    response = await client.get("/widgets", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_sql_looking_filters_match_nothing_and_change_nothing(client: httpx.AsyncClient) -> None:
    await create(client)
    response = await client.get("/widgets", params={"name": "x' OR '1'='1"})
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert (await client.get("/widgets")).json()["total"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "price": "1.00"},
        {"name": "x", "price": "-1"},
        {"name": "x", "price": "1.00", "quantity": 10**12},
        {"name": "x", "price": "1.00", "unknown": True},
        {"name": 5, "price": "1.00"},
        {"price": "1.00"},
    ],
)
async def test_invalid_bodies_are_422_with_field_errors(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.post("/widgets", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "common.validation_failed"
    assert problem["errors"]
    assert (await client.get("/widgets")).json()["total"] == 0


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/widgets", content=b'{"name": "x",', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "common.bad_request"


async def test_cursor_pagination_walks_and_rejects_forged_cursors() -> None:
    app = build(Pagination.CURSOR)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for index in range(5):
            await create(client, f"w{index}")
        names: list[str] = []
        params: dict[str, object] = {"limit": 2, "sort": "name"}
        while True:
            page = (await client.get("/widgets", params=params)).json()
            names += [item["name"] for item in page["items"]]
            if not page["has_next"]:
                break
            params["cursor"] = page["next_cursor"]
        assert names == [f"w{index}" for index in range(5)]
        forged = await client.get("/widgets", params={"cursor": "abc.def"})
        assert forged.status_code == 400
        assert forged.json()["code"] == "common.invalid_cursor"


async def test_operations_can_be_left_out() -> None:
    app = build(operations=frozenset({CrudOperation.CREATE, CrudOperation.READ}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        created = await create(client)
        assert (await client.get("/widgets")).status_code == 405
        assert (await client.delete(f"/widgets/{created['id']}")).status_code == 405
        assert (await client.get(f"/widgets/{created['id']}")).status_code == 200


def test_openapi_documents_summaries_filters_and_examples() -> None:
    spec = build().openapi()
    list_parameters = {p["name"] for p in spec["paths"]["/widgets"]["get"]["parameters"]}
    assert {
        "name",
        "name__contains",
        "price__gte",
        "price__lte",
        "category",
        "sort",
        "limit",
        "offset",
    } <= list_parameters
    assert spec["paths"]["/widgets"]["post"]["summary"] == "Create a widget"
    body = spec["paths"]["/widgets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["examples"] == [{"name": "gear", "price": "9.99", "quantity": 3}]


class FailingCommit(InMemoryUnitOfWork):
    async def commit(self) -> None:
        raise ConnectionError("the database went away during COMMIT")


async def test_a_failed_commit_is_never_a_2xx_and_stores_nothing() -> None:
    repository = Widgets(Widget, new_widget, cursor_codec=CursorCodec("crud-router-test-secret"))
    app = build(repository=repository, unit_of_work=FailingCommit)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/widgets", json={"name": "gear", "price": "1.00"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "went away" not in response.text
    assert await repository.count() == 0


async def test_a_cursor_alone_gives_the_next_page_of_its_sorted_filtered_listing() -> None:
    app = build(Pagination.CURSOR)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for index in range(5):
            await create(client, f"w{index}", f"{index}.00")
        first = (await client.get("/widgets", params={"limit": 2, "sort": "-price", "price__gte": "1.00"})).json()
        second = (await client.get("/widgets", params={"cursor": first["next_cursor"]})).json()
        assert [item["name"] for item in first["items"] + second["items"]] == ["w4", "w3", "w2", "w1"]
        assert second["has_next"] is False
        other = await client.get("/widgets", params={"cursor": first["next_cursor"], "sort": "name"})
        assert other.status_code == 400
        assert other.json()["code"] == "common.invalid_cursor"
        assert "send the cursor alone" in other.json()["detail"]


async def test_a_cursor_carrying_long_search_text_is_still_a_valid_cursor() -> None:
    app = build(Pagination.CURSOR)
    name = "\U0001f600" * 100  # the longest name, four UTF-8 bytes per character
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for _ in range(3):
            await create(client, name)
        first = (await client.get("/widgets", params={"limit": 1, "sort": "-name", "name__contains": name})).json()
        assert first["next_cursor"] is not None
        second = await client.get("/widgets", params={"cursor": first["next_cursor"], "limit": 1})
        assert second.status_code == 200, second.text
        assert second.json()["items"][0]["name"] == name
