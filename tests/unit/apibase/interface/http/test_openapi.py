"""A resource added the documented way (CRUD factory, a version) gets its security and problem responses in the
OpenAPI document without declaring them: its permissions are derived from its name."""

from __future__ import annotations

import uuid
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Header
from pydantic import BaseModel

from apibase.interface.http.crud import CrudResource, create_crud_router
from apibase.interface.http.openapi import PROBLEM_SCHEMA_REF, document_problems, problem_responses, problem_schema
from apibase.interface.http.security.authorization import authenticated
from apibase.interface.http.versioning import ApiVersion, build_versioned_api
from apibase.testing.widgets import WidgetCreate, WidgetUpdate

pytestmark = pytest.mark.unit

PROBLEM = {"application/problem+json": {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}


class WidgetOut(BaseModel):
    id: uuid.UUID
    name: str


def widgets_router() -> APIRouter:
    async def provide() -> object:  # only the document is read here: no operation runs
        raise NotImplementedError

    return create_crud_router(
        CrudResource(
            name="widget",
            plural="widgets",
            service=provide,
            id_type=uuid.UUID,
            create_model=WidgetCreate,
            update_model=WidgetUpdate,
            response_model=WidgetOut,
        )
    )


def extras_router() -> APIRouter:
    router = APIRouter()

    @router.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    @router.get("/mine", dependencies=[authenticated()])
    async def mine(if_match: Annotated[str | None, Header()] = None) -> dict[str, str]:
        return {}

    @router.post("/upload", responses={413: {"description": "Too large"}, **problem_responses({409: "Taken"})})
    async def upload() -> dict[str, str]:
        return {}

    return router


async def openapi() -> dict[str, dict[str, dict[str, dict[str, object]]]]:
    app = build_versioned_api([ApiVersion("v1", routers=[widgets_router(), extras_router()])], title="Widgets")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        document: dict[str, dict[str, dict[str, dict[str, object]]]] = (await http.get("/api/v1/openapi.json")).json()
    return document


def statuses(operation: dict[str, object]) -> list[str]:
    responses = operation["responses"]
    assert isinstance(responses, dict)
    return list(responses)


async def test_crud_operations_get_security_and_the_problems_they_can_answer() -> None:
    document = await openapi()
    paths = document["paths"]
    assert set(document["components"]["securitySchemes"]) == {"bearerAuth", "apiKeyAuth"}
    assert statuses(paths["/widgets"]["post"]) == ["201", "401", "403", "409", "422", "429", "default"]
    assert statuses(paths["/widgets"]["get"]) == ["200", "401", "403", "422", "429", "default"]
    read = statuses(paths["/widgets/{entity_id}"]["get"])
    assert read == ["200", "304", "401", "403", "404", "422", "429", "default"]
    for method in ("put", "patch", "delete"):
        assert {"404", "409", "412"} <= set(statuses(paths["/widgets/{entity_id}"][method]))
    for item in paths.values():
        for operation in item.values():
            responses = operation["responses"]
            assert isinstance(responses, dict)
            for status, response in responses.items():
                if not status.isdigit() or int(status) >= 400:
                    assert response["content"] == PROBLEM
    assert document["components"]["schemas"]["Problem"] == problem_schema()


async def test_what_an_operation_cannot_answer_is_not_listed() -> None:
    paths = (await openapi())["paths"]
    assert statuses(paths["/ping"]["get"]) == ["200", "429", "default"]
    assert "security" not in paths["/ping"]["get"]
    assert paths["/mine"]["get"]["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
    assert statuses(paths["/mine"]["get"]) == ["200", "401", "403", "412", "422", "429", "default"]
    upload = paths["/upload"]["post"]["responses"]
    assert statuses(paths["/upload"]["post"]) == ["200", "409", "413", "429", "default"]
    assert upload["413"] == {"description": "Too large", "content": PROBLEM}
    assert upload["409"] == {"description": "Taken", "content": PROBLEM}


def test_document_problems_tolerates_odd_shapes() -> None:
    document: dict[str, object] = {"paths": {"/x": {"parameters": [], "get": {"responses": {"4XX": {}}}}}}
    document_problems(document)  # type: ignore[arg-type]
    assert document["paths"]["/x"]["get"]["responses"] == {  # type: ignore[index]
        "429": {
            "description": "Too many requests: wait for the Retry-After seconds",
            "headers": {
                "Retry-After": {"description": "Seconds until a retry may succeed", "schema": {"type": "integer"}}
            },
            "content": PROBLEM,
        },
        "4XX": {},
    }
