"""A resource added the shortest documented way, with no security configuration at all, is attacked.

``suppliers`` is the kernel's generic service and SQL repository mounted by ``create_crud_router`` with nothing but
its models: no permissions, no tenancy declaration. Served behind the service's own authentication middleware, it
must refuse anonymous callers (401), callers without ``suppliers:read``/``suppliers:write`` (403), and answer
another tenant's row as missing (404) and its lists as empty, while the owner gets every operation (2xx). Opening
it takes words: ``public=`` for operations, ``GlobalTable`` for rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.application.cursor import CursorCodec
from apibase.core.settings import Settings
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.interface.http.crud import CrudOperation, CrudResource, create_crud_router
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.query_filters import field_types
from apibase.interface.http.security.authentication import AuthenticationMiddleware
from apibase.interface.http.versioning import ApiVersion, build_versioned_api
from apibase.testing.callers import CallerTokens
from apibase.testing.problems import assert_problem
from apibase.testing.suppliers import (
    COMPANY_FIELDS,
    CarrierRow,
    CompanyCreate,
    CompanyOut,
    CompanyService,
    CompanyUpdate,
    SupplierRow,
    carrier_service,
    sample_metadata,
    supplier_service,
)

pytestmark = [pytest.mark.unit]

ACME = {"name": "Acme Parts", "country": "DE"}
READ, WRITE = "suppliers:read", "suppliers:write"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def resource(plural: str, service: CompanyService, **options: object) -> CrudResource:
    """The documented ``CrudResource``: what the resource is, and nothing about who may use it."""

    async def provide() -> CompanyService:
        return service

    return CrudResource(
        name=plural.removesuffix("s"),
        plural=plural,
        service=provide,
        id_type=uuid.UUID,
        create_model=CompanyCreate,
        update_model=CompanyUpdate,
        response_model=CompanyOut,
        filter_types=field_types(CompanyOut, COMPANY_FIELDS),
        sortable_fields=COMPANY_FIELDS,
        create_example=ACME,
        **options,
    )


type Serve = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
def callers() -> CallerTokens:
    return CallerTokens()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'resource.db'}"))
    async with engine.begin() as connection:
        await connection.run_sync(sample_metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def serve(engine: AsyncEngine, callers: CallerTokens) -> AsyncIterator[Serve]:
    """``serve(**suppliers_options)``: /api/v2/suppliers and /api/v2/carriers behind the service's authentication."""
    clients: list[httpx.AsyncClient] = []
    sessions, codec = create_session_factory(engine), CursorCodec("new-resource-cursor-secret")

    async def start(**options: object) -> httpx.AsyncClient:
        routers = [
            create_crud_router(resource("suppliers", supplier_service(sessions, cursor_codec=codec), **options)),
            create_crud_router(resource("carriers", carrier_service(sessions, cursor_codec=codec))),
        ]
        app: FastAPI = build_versioned_api([ApiVersion("v2", routers=routers)])
        app.add_middleware(AuthenticationMiddleware, access_token=callers, api_key=callers)
        app.add_middleware(RequestIdMiddleware)  # outermost, as in the service: every problem names its request
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test/api/v2")
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.aclose()


@pytest.fixture
async def http(serve: Serve) -> httpx.AsyncClient:
    return await serve()


@pytest.fixture
def owner(callers: CallerTokens) -> dict[str, str]:
    return callers.headers(tenant="acme", permissions={READ, WRITE})


@pytest.fixture
async def row(http: httpx.AsyncClient, owner: dict[str, str]) -> dict[str, object]:
    created = await http.post("/suppliers", json=ACME, headers=owner)
    assert created.status_code == 201, created.text
    data: dict[str, object] = created.json()["data"]
    return data


def every_operation(row_id: object) -> list[tuple[str, str, dict[str, object] | None]]:
    one = f"/suppliers/{row_id}"
    return [
        ("POST", "/suppliers", ACME),
        ("GET", "/suppliers", None),
        ("GET", one, None),
        ("PUT", one, {"name": "Stolen", "country": "FR"}),
        ("PATCH", one, {"name": "Stolen"}),
        ("DELETE", one, None),
    ]


async def intact(http: httpx.AsyncClient, owner: dict[str, str], row: dict[str, object]) -> None:
    assert (await http.get(f"/suppliers/{row['id']}", headers=owner)).json()["data"] == row
    assert (await http.get("/suppliers", headers=owner)).json()["total"] == 1


async def test_anonymous_callers_get_401_on_every_operation(http, owner, row) -> None:
    for method, url, body in every_operation(row["id"]):
        assert_problem(await http.request(method, url, json=body, headers={}), 401, "access.authentication_required")
        assert_problem(
            await http.request(method, url, json=body, headers={"X-Tenant-ID": "acme"}),
            401,
            "access.authentication_required",
        )
    forged = await http.get("/suppliers", headers={"Authorization": "Bearer not-a-minted-token"})
    assert_problem(forged, 401, "auth.token_invalid")  # never a fallback to anonymous
    await intact(http, owner, row)


async def test_callers_without_the_derived_permission_get_403(http, callers, owner, row) -> None:
    reader = callers.headers(tenant="acme", permissions={READ})
    outsider = callers.headers(tenant="acme", permissions={"products:read", "products:write", "orders:write"})
    for method, url, body in every_operation(row["id"]):
        as_outsider = assert_problem(
            await http.request(method, url, json=body, headers=outsider), 403, "access.permission_denied"
        )
        needed = READ if method == "GET" else WRITE
        assert as_outsider["missing"] == [needed]
        as_reader = await http.request(method, url, json=body, headers=reader)
        if method == "GET":
            assert as_reader.status_code == 200, as_reader.text
        else:
            assert assert_problem(as_reader, 403, "access.permission_denied")["missing"] == [WRITE]
    await intact(http, owner, row)


async def test_another_tenant_finds_no_row_and_an_empty_list(http, callers, owner, row) -> None:
    intruder = callers.headers(tenant="globex", permissions={READ, WRITE})
    for method, url, body in every_operation(row["id"])[2:]:
        missing = assert_problem(await http.request(method, url, json=body, headers=intruder), 404, "common.not_found")
        elsewhere = url.replace(str(row["id"]), UNKNOWN_ID)
        unknown = (await http.request(method, elsewhere, json=body, headers=intruder)).json()
        assert missing["detail"].replace(str(row["id"]), UNKNOWN_ID) == unknown["detail"]
        assert "Acme" not in str(missing)
    etag = (await http.get(f"/suppliers/{row['id']}", headers=owner)).headers["etag"]
    stolen_etag = await http.delete(f"/suppliers/{row['id']}", headers={**intruder, "If-Match": etag})
    assert_problem(stolen_etag, 404, "common.not_found")
    listed = await http.get("/suppliers", headers=intruder)
    assert (listed.status_code, listed.json()["items"], listed.json()["total"]) == (200, [], 0)
    named = await http.get("/suppliers", params={"name": ACME["name"]}, headers=intruder)
    assert named.json()["items"] == []
    await intact(http, owner, row)


async def test_a_token_cannot_name_another_tenant(http, callers, row) -> None:
    intruder = callers.headers(tenant="globex", permissions={READ, WRITE})
    crossing = await http.get(f"/suppliers/{row['id']}", headers={**intruder, "X-Tenant-ID": "acme"})
    assert_problem(crossing, 403, "tenancy.tenant_mismatch")


async def test_the_owner_gets_every_operation(http, owner, engine) -> None:
    created = await http.post("/suppliers", json=ACME, headers=owner)
    assert created.status_code == 201, created.text
    url = created.headers["location"].removeprefix("/api/v2")
    assert (await http.get(url, headers=owner)).status_code == 200
    assert (await http.get("/suppliers", headers=owner)).json()["total"] == 1
    replaced = await http.put(url, json={"name": "Acme Works", "country": "AT"}, headers=owner)
    assert (replaced.status_code, replaced.json()["data"]["country"]) == (200, "AT")
    patched = await http.patch(url, json={"name": "Acme AG"}, headers=owner)
    assert (patched.status_code, patched.json()["data"]["name"]) == (200, "Acme AG")
    async with engine.connect() as connection:
        stamped = (await connection.execute(select(SupplierRow.__table__.c.tenant_id))).scalar_one()
    assert stamped == "acme", "the row belongs to the caller's tenant, taken from the token"
    assert (await http.delete(url, headers=owner)).status_code == 204
    assert (await http.get(url, headers=owner)).status_code == 404


async def test_a_client_cannot_choose_the_tenant_of_a_row(http, owner) -> None:
    refused = await http.post("/suppliers", json={**ACME, "tenant_id": "globex"}, headers=owner)
    assert refused.status_code == 422
    assert [error["loc"] for error in refused.json()["errors"]] == [["body", "tenant_id"]]


# -- the explicit opt-outs -------------------------------------------------------------------------------------------
async def test_public_operations_are_open_only_as_declared(serve, owner, callers) -> None:
    http = await serve(public=frozenset({CrudOperation.LIST, CrudOperation.READ}))
    created = (await http.post("/suppliers", json=ACME, headers=owner)).json()["data"]
    anonymous_in_acme = {"X-Tenant-ID": "acme"}
    assert (await http.get(f"/suppliers/{created['id']}", headers=anonymous_in_acme)).status_code == 200
    assert (await http.get("/suppliers", headers=anonymous_in_acme)).json()["total"] == 1
    # Public is about callers, not tenancy: the rows are still the tenant's own.
    assert (await http.get("/suppliers", headers={"X-Tenant-ID": "globex"})).json()["total"] == 0
    assert (await http.get(f"/suppliers/{created['id']}")).status_code == 404
    for method, url, body in every_operation(created["id"]):
        if method != "GET":
            assert_problem(
                await http.request(method, url, json=body, headers=anonymous_in_acme),
                401,
                "access.authentication_required",
            )
    operations = (await http.get("/openapi.json")).json()["paths"]
    for public in (operations["/suppliers"]["get"], operations["/suppliers/{entity_id}"]["get"]):
        assert public["security"] == []
        assert public["description"].startswith("Public:")
        assert not {"401", "403"} & public["responses"].keys()
    guarded = operations["/suppliers"]["post"]
    assert guarded["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
    assert {"401", "403"} <= guarded["responses"].keys()


async def test_a_global_table_is_shared_by_every_tenant_and_still_protected(http, callers, engine) -> None:
    acme = callers.headers(tenant="acme", permissions={"carriers:read", "carriers:write"})
    globex = callers.headers(tenant="globex", permissions={"carriers:read"})
    created = await http.post("/carriers", json={"name": "Fast Freight", "country": "NL"}, headers=acme)
    assert created.status_code == 201, created.text
    carrier = created.json()["data"]
    assert (await http.get(f"/carriers/{carrier['id']}", headers=globex)).json()["data"] == carrier
    assert [item["id"] for item in (await http.get("/carriers", headers=globex)).json()["items"]] == [carrier["id"]]
    assert_problem(await http.get("/carriers"), 401, "access.authentication_required")
    assert_problem(await http.delete(f"/carriers/{carrier['id']}", headers=globex), 403, "access.permission_denied")
    assert "tenant_id" not in CarrierRow.__table__.c
