"""The reference service's OpenAPI documents (v1 and v2) tell a client how to authenticate and what can go wrong.

Security schemes and per-operation requirements, the tenant header of the anonymous calls, JSON Schema keywords
(never pydantic's ``ge``/``le``), and the problem responses of each operation, each with the problem schema. The
statuses a products operation declares are also provoked for real, so the document does not promise fiction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from apibase.testing.service import service_settings, sign_up
from shop.main import create_app

pytestmark = pytest.mark.unit

ANONYMOUS = {("/auth/register", "post"), ("/auth/login", "post"), ("/auth/refresh", "post"), ("/auth/logout", "post")}
EITHER_CREDENTIAL = [{"bearerAuth": []}, {"apiKeyAuth": []}]
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
PRODUCT = {"sku": "DOC-001", "name": "Doc", "price": {"amount": "9.99", "currency": "EUR"}, "stock": 5}
#: Operations and the problem statuses they must declare (at least): every kind of operation is here.
EXPECTED = {
    ("/products", "post"): {401, 403, 409, 422, 429},
    ("/products", "get"): {401, 403, 422, 429},
    ("/products/{entity_id}", "get"): {401, 403, 404, 422, 429},
    ("/products/{entity_id}", "put"): {401, 403, 404, 409, 412, 422, 429},
    ("/products/{entity_id}", "patch"): {401, 403, 404, 409, 412, 422, 429},
    ("/products/{entity_id}", "delete"): {401, 403, 404, 409, 412, 422, 429},
    ("/orders/{order_id}/cancel", "post"): {401, 403, 404, 409, 412, 422, 429},
    ("/auth/register", "post"): {403, 422, 429},
    ("/auth/login", "post"): {401, 422, 429},
    ("/auth/me", "get"): {401, 403, 429},
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service_settings(tmp_path / "service.db"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield http


def operations(document: dict[str, object]) -> Iterator[tuple[str, str, dict[str, object]]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    for path, item in paths.items():
        for method, operation in item.items():
            yield path, method, operation


def keys_anywhere(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {key for value in node.values() for key in keys_anywhere(value)}
    if isinstance(node, list):
        return {key for value in node for key in keys_anywhere(value)}
    return set()


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_both_versions_declare_bearer_and_api_key_security_per_operation(
    client: httpx.AsyncClient, version: str
) -> None:
    document = (await client.get(f"/api/{version}/openapi.json")).json()
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from `POST /auth/login` (or from the configured external issuer)",
        },
        "apiKeyAuth": {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key from `POST /auth/api-keys`",
        },
    }
    for path, method, operation in operations(document):
        expected = None if (path, method) in ANONYMOUS else EITHER_CREDENTIAL
        assert operation.get("security") == expected, (path, method)


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("path", ["/auth/register", "/auth/login"])
async def test_the_anonymous_calls_declare_the_tenant_header(
    client: httpx.AsyncClient, version: str, path: str
) -> None:
    document = (await client.get(f"/api/{version}/openapi.json")).json()
    (header,) = [p for p in document["paths"][path]["post"]["parameters"] if p["in"] == "header"]
    assert header["name"] == "X-Tenant-ID"
    assert header["required"] is False
    assert {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"} in header["schema"]["anyOf"]


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_schemas_use_json_schema_keywords_not_pydantic_arguments(client: httpx.AsyncClient, version: str) -> None:
    document = (await client.get(f"/api/{version}/openapi.json")).json()
    assert not keys_anywhere(document) & {"ge", "le", "gt", "lt"}
    expires = document["components"]["schemas"]["NewApiKey"]["properties"]["expires_in_days"]
    assert {"type": "integer", "minimum": 1, "maximum": 3650} in expires["anyOf"]


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_every_operation_lists_its_problem_responses_with_the_problem_schema(
    client: httpx.AsyncClient, version: str
) -> None:
    document = (await client.get(f"/api/{version}/openapi.json")).json()
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance", "code", "request_id"} <= set(problem["properties"])
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, method, operation in operations(document):
        responses = operation["responses"]
        declared = {int(status) for status in responses if status.isdigit() and int(status) >= 400}
        assert 429 in declared, (path, method)
        if operation.get("security"):
            assert {401, 403} <= declared, (path, method)
        if "{" in path:
            assert 404 in declared, (path, method)
        for status in [*map(str, declared), "default"]:
            assert responses[status]["content"] == PROBLEM, (path, method, status)
            assert responses[status]["description"], (path, method, status)
        assert list(responses)[-1] == "default"
    for (path, method), statuses in EXPECTED.items():
        responses = document["paths"][path][method]["responses"]
        assert statuses <= {int(status) for status in responses if status.isdigit()}, (path, method)
    retry_after = document["paths"]["/products"]["get"]["responses"]["429"]["headers"]["Retry-After"]
    assert retry_after["schema"] == {"type": "integer"}


async def test_the_declared_problems_of_the_product_operations_are_reachable(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v2/openapi.json")).json()
    admin = await sign_up(client)
    seen: dict[tuple[str, str], set[int]] = {}

    async def call(template: str, method: str, url: str, **kwargs: object) -> None:
        response = await client.request(method.upper(), url, **kwargs)  # type: ignore[arg-type]
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
        assert response.json()["instance"] == url.split("?", maxsplit=1)[0]
        seen.setdefault((template, method), set()).add(response.status_code)

    created = await client.post("/api/v2/products", json=PRODUCT, headers=admin)
    item = f"/api/v2/products/{created.json()['data']['id']}"
    missing = f"/api/v2/products/{uuid.uuid4()}"
    other_tenant = {**admin, "X-Tenant-ID": "elsewhere"}
    for method in ("get", "put", "patch", "delete"):
        body = {"json": {**PRODUCT, "name": "changed"}} if method in {"put", "patch"} else {}
        await call("/products/{entity_id}", method, item, **body)  # 401
        await call("/products/{entity_id}", method, item, headers=other_tenant, **body)  # 403
        await call("/products/{entity_id}", method, missing, headers=admin, **body)  # 404
        await call("/products/{entity_id}", method, "/api/v2/products/not-a-number", headers=admin, **body)  # 422
        if method != "get":
            await call("/products/{entity_id}", method, item, headers={**admin, "If-Match": '"999"'}, **body)  # 412
    await call("/products", "post", "/api/v2/products", json=PRODUCT)  # 401
    await call("/products", "post", "/api/v2/products", json=PRODUCT, headers=other_tenant)  # 403
    await call("/products", "post", "/api/v2/products", json=PRODUCT, headers=admin)  # 409: the SKU is taken
    await call("/products", "post", "/api/v2/products", json={}, headers=admin)  # 422
    for (path, method), statuses in seen.items():
        declared = {int(status) for status in document["paths"][path][method]["responses"] if status.isdigit()}
        assert statuses <= declared, (path, method, statuses - declared)
    assert seen[("/products/{entity_id}", "put")] == {401, 403, 404, 412, 422}
    assert seen[("/products", "post")] == {401, 403, 409, 422}
