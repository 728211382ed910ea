"""Who may call a CRUD resource: derived permissions by default, overrides that only replace them, and public
operations only where the resource says so (the attack on a resource built this way: attacks/test_new_resource.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryRepository, InMemoryUnitOfWork
from apibase.application.mapper import GenericMapper
from apibase.application.service import GenericService
from apibase.interface.http.crud import ALL_OPERATIONS, CrudOperation, CrudResource, create_crud_router
from apibase.interface.http.problems import install_problem_handlers
from apibase.interface.http.security.authentication import AuthenticationMiddleware
from apibase.interface.http.security.authorization import require
from apibase.testing.callers import CallerTokens
from apibase.testing.widgets import GEAR, Widget, WidgetCreate, WidgetOut, WidgetUpdate, new_widget

pytestmark = pytest.mark.unit


def widgets(**options: object) -> CrudResource:
    repository = InMemoryRepository(Widget, new_widget, cursor_codec=CursorCodec("crud-security-test-secret"))
    service = GenericService(
        unit_of_work=lambda: InMemoryUnitOfWork(repository),
        repository=lambda uow: repository,
        mapper=GenericMapper(entity=Widget, model=Widget, response=WidgetOut),
    )

    async def provide() -> object:
        return service

    return CrudResource(
        name="widget",
        plural="widgets",
        service=provide,
        id_type=uuid.UUID,
        create_model=WidgetCreate,
        update_model=WidgetUpdate,
        response_model=WidgetOut,
        **options,
    )


@pytest.fixture
def callers() -> CallerTokens:
    return CallerTokens()


type Serve = Callable[[CrudResource], httpx.AsyncClient]


@pytest.fixture
def serve(callers: CallerTokens) -> Serve:
    """A client of an app serving ``resource`` behind the service's authentication middleware."""

    def build(resource: CrudResource) -> httpx.AsyncClient:
        app = FastAPI()
        install_problem_handlers(app)
        app.include_router(create_crud_router(resource))
        app.add_middleware(AuthenticationMiddleware, access_token=callers, api_key=callers)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    return build


def problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")
    body: dict[str, object] = response.json()
    return body


async def test_reads_need_plural_read_and_writes_plural_write(serve, callers) -> None:
    async with serve(widgets()) as http:
        writer = callers.headers(tenant="acme", permissions={"widgets:write"})
        reader = callers.headers(tenant="acme", permissions={"widgets:read"})
        created = await http.post("/widgets", json=GEAR, headers=writer)
        assert created.status_code == 201, created.text
        url = f"/widgets/{created.json()['data']['id']}"
        assert problem(await http.get(url, headers=writer), 403)["missing"] == ["widgets:read"]
        assert problem(await http.get("/widgets", headers=writer), 403)["missing"] == ["widgets:read"]
        assert (await http.get(url, headers=reader)).status_code == 200
        for method in ("PUT", "PATCH", "DELETE"):
            body = GEAR if method != "DELETE" else None
            assert problem(await http.request(method, url, json=body, headers=reader), 403)["missing"] == [
                "widgets:write"
            ]
        assert (await http.patch(url, json={"quantity": 2}, headers=writer)).status_code == 200
        assert (await http.put(url, json=GEAR, headers=writer)).status_code == 200
        assert (await http.delete(url, headers=writer)).status_code == 204


async def test_a_permission_override_replaces_the_derived_one_and_still_needs_a_caller(serve, callers) -> None:
    resource = widgets(permissions={CrudOperation.DELETE: [require("widgets:purge")]})
    async with serve(resource) as http:
        writer = callers.headers(tenant="acme", permissions={"widgets:write"})
        purger = callers.headers(tenant="acme", permissions={"widgets:purge"})
        url = f"/widgets/{(await http.post('/widgets', json=GEAR, headers=writer)).json()['data']['id']}"
        assert problem(await http.delete(url), 401)["code"] == "access.authentication_required"
        assert problem(await http.delete(url, headers=writer), 403)["missing"] == ["widgets:purge"]
        assert problem(await http.patch(url, json={"quantity": 2}, headers=purger), 403)["missing"] == ["widgets:write"]
        assert (await http.delete(url, headers=purger)).status_code == 204


async def test_a_public_resource_is_open_and_documented_as_such(serve) -> None:
    async with serve(widgets(public=ALL_OPERATIONS)) as http:
        created = await http.post("/widgets", json=GEAR)
        assert created.status_code == 201, created.text
        url = f"/widgets/{created.json()['data']['id']}"
        assert (await http.get(url)).status_code == 200
        assert (await http.delete(url)).status_code == 204
        document = (await http.get("/openapi.json")).json()
    operations = [operation for item in document["paths"].values() for operation in item.values()]
    assert len(operations) == len(ALL_OPERATIONS)
    for operation in operations:
        assert operation["security"] == []
        assert operation["description"] == "Public: anyone may call this operation, without credentials."
    assert "securitySchemes" not in document.get("components", {})


async def test_guarded_operations_declare_their_security(serve) -> None:
    async with serve(widgets()) as http:
        document = (await http.get("/openapi.json")).json()
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
            assert "description" not in operation


def test_an_operation_cannot_be_both_public_and_guarded() -> None:
    with pytest.raises(ValueError, match="both public and guarded"):
        widgets(public=frozenset({CrudOperation.DELETE}), permissions={CrudOperation.DELETE: [require("x:y")]})


@pytest.mark.parametrize("empty", [[], ()])
def test_an_empty_permission_list_does_not_open_an_operation(empty: list[object]) -> None:
    with pytest.raises(ValueError, match="list it in public"):
        widgets(permissions={CrudOperation.CREATE: empty})
