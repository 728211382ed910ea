"""CrudRoute: a routine request skips FastAPI's generic solver, and every answer is the one FastAPI's handler gives.

Each request is sent twice, once on the plan and once on FastAPI's handler (a dependency override, even of an
unrelated function, sends a request there), and the two answers compared: status, headers and body, problems
included. The solver is counted to show which path served a request.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import fastapi.routing
import httpx
import pytest
from fastapi import Depends, FastAPI, Request, params

from apibase.application.cursor import CursorCodec
from apibase.application.in_memory import InMemoryRepository, InMemoryUnitOfWork
from apibase.application.mapper import GenericMapper
from apibase.application.service import GenericService
from apibase.interface.http.crud import CrudOperation, CrudResource, Pagination, create_crud_router
from apibase.interface.http.problems import install_problem_handlers
from apibase.interface.http.request_parameters import check_request_parameters
from apibase.interface.http.security.authentication import AuthenticationMiddleware
from apibase.interface.http.security.authorization import PermissionCheck
from apibase.testing.callers import CallerTokens
from apibase.testing.widgets import GEAR, WIDGET_FIELDS, Widget, WidgetCreate, WidgetOut, WidgetUpdate, new_widget

pytestmark = pytest.mark.unit


class Widgets(InMemoryRepository[Widget, WidgetCreate, WidgetUpdate, uuid.UUID]):
    filterable_fields = WIDGET_FIELDS
    sortable_fields = WIDGET_FIELDS


type Service = GenericService[Widget, WidgetCreate, WidgetUpdate, WidgetOut, uuid.UUID]


def _service() -> Service:
    repository = Widgets(Widget, new_widget, cursor_codec=CursorCodec("crud-route-test-secret"))
    return GenericService(
        unit_of_work=lambda: InMemoryUnitOfWork(repository),
        repository=lambda uow: repository,
        mapper=GenericMapper(entity=Widget, model=Widget, response=WidgetOut),
    )


def _unrelated() -> None:
    """Overriding it changes nothing but the path: FastAPI's handler serves every request of an app with overrides."""


@dataclass
class Served:
    app: FastAPI
    http: httpx.AsyncClient
    headers: dict[str, str]
    solved: list[str]

    async def both(self, method: str, url: str, **options: Any) -> tuple[httpx.Response, httpx.Response]:
        """The planned answer (no solver run) and FastAPI's (an override set) to the same request."""
        headers = {**self.headers, **options.pop("headers", {})}
        before = len(self.solved)
        planned = await self.http.request(method, url, headers=headers, **options)
        planned_solved = len(self.solved) > before
        self.app.dependency_overrides[_unrelated] = _unrelated
        try:
            generic = await self.http.request(method, url, headers=headers, **options)
        finally:
            self.app.dependency_overrides.clear()
        if 200 <= planned.status_code < 400:
            assert not planned_solved, f"{method} {url} should have been served by the plan"
        return planned, generic


def _build(
    callers: CallerTokens,
    pagination: Pagination = Pagination.OFFSET,
    including: Sequence[params.Depends] = (),
    **options: object,
) -> tuple[FastAPI, Callable[[], Awaitable[Service]]]:
    service = _service()

    async def provide() -> Service:
        return service

    resource = CrudResource(
        name="widget",
        plural="widgets",
        service=provide,
        id_type=uuid.UUID,
        create_model=WidgetCreate,
        update_model=WidgetUpdate,
        response_model=WidgetOut,
        filter_types={"name": str},
        sortable_fields=frozenset({"name", "price"}),
        pagination=pagination,
        **options,  # type: ignore[arg-type]
    )
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(create_crud_router(resource), dependencies=including)
    app.add_middleware(AuthenticationMiddleware, access_token=callers, api_key=callers)
    return app, provide


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests FastAPI's dependency solver ran for (one entry each, by the endpoint's name)."""
    calls: list[str] = []
    original = fastapi.routing.solve_dependencies

    async def counting(**arguments: Any) -> Any:
        calls.append(arguments["dependant"].call.__name__)
        return await original(**arguments)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    return calls


@pytest.fixture
async def served(solved: list[str]) -> AsyncIterator[Served]:
    callers = CallerTokens()
    # as a versioned API includes every router: with the check of the request's parameters
    app, _ = _build(callers, including=[Depends(check_request_parameters)])
    headers = callers.headers(tenant="acme", permissions={"widgets:read", "widgets:write"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield Served(app, http, headers, solved)


def same(planned: httpx.Response, generic: httpx.Response, *volatile: str) -> None:
    """Identical answers, but for the envelope's timestamp and what differs from one write to the next."""
    assert planned.status_code == generic.status_code
    assert [name for name, _ in planned.headers.multi_items()] == [name for name, _ in generic.headers.multi_items()]
    unsteady = {"content-length", *volatile}
    assert {k: v for k, v in planned.headers.items() if k not in unsteady} == {
        k: v for k, v in generic.headers.items() if k not in unsteady
    }
    if "json" not in planned.headers.get("content-type", ""):
        assert planned.content == generic.content
        return
    first, second = planned.json(), generic.json()
    for body in (first, second):
        body.get("meta", {}).pop("timestamp", None)
        for field in volatile:
            body.get("data", {}).pop(field, None)
    assert first == second


async def _create(served: Served, **body: object) -> dict[str, Any]:
    created = await served.http.post("/widgets", json={**GEAR, **body}, headers=served.headers)
    assert created.status_code == 201, created.text
    data: dict[str, Any] = created.json()["data"]
    return data


async def test_reads_and_their_failures_answer_as_fastapi_does(served: Served) -> None:
    widget = await _create(served)
    url = f"/widgets/{widget['id']}"
    etag = (await served.http.get(url, headers=served.headers)).headers["etag"]
    for method, target, headers in [
        ("GET", url, {}),
        ("GET", url, {"If-None-Match": etag}),
        ("GET", url, {"If-None-Match": '"other"'}),
        ("GET", url, {"If-None-Match": "not an entity tag"}),
        ("GET", "/widgets/not-a-uuid", {}),
        ("GET", f"/widgets/{uuid.uuid4()}", {}),
        ("GET", "/widgets?limit=1&sort=-name&name=gear", {}),
        ("GET", "/widgets?limit=0", {}),
        ("GET", "/widgets?sort=colour", {}),
        ("GET", url, {"Authorization": "Bearer forged"}),
        ("GET", f"{url}?hard=true", {}),
        ("GET", "/widgets?nmae=gear", {}),
        ("GET", "/widgets/not-a-uuid?hard=true", {}),
    ]:
        planned, generic = await served.both(method, target, headers=headers)
        same(planned, generic)
    not_modified, _ = await served.both("GET", url, headers={"If-None-Match": etag})
    assert (not_modified.status_code, not_modified.headers["etag"], not_modified.content) == (304, etag, b"")


async def test_writes_answer_as_fastapi_does(served: Served) -> None:
    volatile = ("id", "created_at", "etag", "location", "content-length")
    planned, generic = await served.both("POST", "/widgets", json=GEAR)
    same(planned, generic, *volatile)
    assert planned.headers["location"] == f"/widgets/{planned.json()['data']['id']}"
    for body, options in [
        ({"name": ""}, {}),
        ({"colour": "red"}, {}),
        (None, {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        (None, {"content": b"[" * 100_000, "headers": {"content-type": "application/json"}}),  # past recursion
        (None, {"content": b'{"name": "gear", "price": "1"}', "headers": {"content-type": "text/plain"}}),
    ]:
        rejected, rejected_too = await served.both(
            "POST", "/widgets", json={**GEAR, **body} if body else None, **options
        )
        same(rejected, rejected_too)
    first, second = await _create(served), await _create(served)
    for method, body in [("PATCH", {"quantity": 5}), ("PUT", {**GEAR, "quantity": 7})]:
        planned = await served.http.request(method, f"/widgets/{first['id']}", json=body, headers=served.headers)
        served.app.dependency_overrides[_unrelated] = _unrelated
        generic = await served.http.request(method, f"/widgets/{second['id']}", json=body, headers=served.headers)
        served.app.dependency_overrides.clear()
        same(planned, generic, *volatile)
    stale = {"If-Match": '"0123456789abcdef-1"'}
    planned, generic = await served.both("PATCH", f"/widgets/{first['id']}", json={"quantity": 1}, headers=stale)
    same(planned, generic)
    planned = await served.http.delete(f"/widgets/{first['id']}", headers=served.headers)
    served.app.dependency_overrides[_unrelated] = _unrelated
    generic = await served.http.delete(f"/widgets/{second['id']}", headers=served.headers)
    same(planned, generic)
    assert planned.status_code == 204


async def test_the_plan_serves_routine_requests_and_fastapi_the_others(served: Served) -> None:
    widget = await _create(served)
    url = f"/widgets/{widget['id']}"
    served.solved.clear()
    for response in [
        await served.http.get(url, headers=served.headers),
        await served.http.get("/widgets?name=gear", headers=served.headers),
        await served.http.patch(url, json={"quantity": 2}, headers=served.headers),
        await served.http.post("/widgets", json=GEAR, headers=served.headers),
        await served.http.delete(url, headers=served.headers),
    ]:
        assert response.status_code < 300, response.text
    assert served.solved == []
    assert (await served.http.get(url)).status_code == 401
    assert (await served.http.get("/widgets/1", headers=served.headers)).status_code == 422
    assert served.solved == ["read", "read"]


async def test_a_cursor_listing_pages_on_the_plan(solved: list[str]) -> None:
    callers = CallerTokens()
    app, _ = _build(callers, Pagination.CURSOR)
    headers = callers.headers(tenant="acme", permissions={"widgets:read", "widgets:write"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        for name in ("a", "b", "c"):
            assert (await http.post("/widgets", json={**GEAR, "name": name}, headers=headers)).status_code == 201
        first = (await http.get("/widgets?limit=2&sort=name", headers=headers)).json()
        cursor = first["next_cursor"]
        second = (await http.get("/widgets", params={"cursor": cursor, "limit": 2}, headers=headers)).json()
    assert [item["name"] for item in first["items"] + second["items"]] == ["a", "b", "c"]
    assert solved == []


async def test_an_override_of_the_service_is_honoured(solved: list[str]) -> None:
    callers = CallerTokens()
    app, provide = _build(callers)
    other = _service()

    async def replacement() -> Service:
        return other

    headers = callers.headers(tenant="acme", permissions={"widgets:read", "widgets:write"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        app.dependency_overrides[provide] = replacement
        assert (await http.post("/widgets", json=GEAR, headers=headers)).status_code == 201
        assert (await http.get("/widgets", headers=headers)).json()["total"] == 1
        app.dependency_overrides.clear()
        assert (await http.get("/widgets", headers=headers)).json()["total"] == 0
    assert solved == ["create", "list_offset"]


async def test_custom_dependencies_run_once_a_request_on_either_path(solved: list[str]) -> None:
    """A check added by the including router and repeated by one operation's permissions runs once a request: the
    plan calls a dependency taking only the request itself (create), FastAPI's handler serves the route that
    names the same dependency twice (list), as FastAPI caches its value."""
    seen: list[str] = []

    async def audited(request: Request) -> None:
        seen.append(f"{request.method} {request.url.path}")

    callers = CallerTokens()
    app, _ = _build(
        callers,
        including=[Depends(audited)],
        permissions={CrudOperation.LIST: [Depends(PermissionCheck(["widgets:read"])), Depends(audited)]},
    )
    headers = callers.headers(tenant="acme", permissions={"widgets:read", "widgets:write"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        assert (await http.get("/widgets", headers=headers)).status_code == 200
        assert (await http.post("/widgets", json=GEAR, headers=headers)).status_code == 201
    assert seen == ["GET /widgets", "POST /widgets"]
    assert solved == ["list_offset"]


async def test_a_provider_run_in_a_thread_is_left_to_fastapi(solved: list[str]) -> None:
    callers = CallerTokens()
    service = _service()
    resource = CrudResource(
        name="widget",
        plural="widgets",
        service=lambda: service,
        id_type=uuid.UUID,
        create_model=WidgetCreate,
        update_model=WidgetUpdate,
        response_model=WidgetOut,
    )
    app = FastAPI()
    app.include_router(create_crud_router(resource))
    app.add_middleware(AuthenticationMiddleware, access_token=callers, api_key=callers)
    headers = callers.headers(tenant="acme", permissions={"widgets:write"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        assert (await http.post("/widgets", json=GEAR, headers=headers)).status_code == 201
    assert solved == ["create"]
