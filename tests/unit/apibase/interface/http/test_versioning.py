"""Two API versions side by side, each with its own OpenAPI 3.1 document and docs; deprecation headers."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from starlette.types import Message, Receive, Scope, Send

from apibase.core.errors import NotFoundError
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.problems import PROBLEM_MEDIA_TYPE
from apibase.interface.http.versioning import (
    PROBLEM_RESPONSES,
    ApiVersion,
    DeprecationHeadersMiddleware,
    DeprecationPolicy,
    build_version_app,
    build_versioned_api,
    deprecated_operation,
    mount_versions,
)

pytestmark = pytest.mark.unit

SUNSET = date(2026, 12, 31)
DEPRECATED_AT = date(2026, 1, 1)
V1_POLICY = DeprecationPolicy(deprecated_at=DEPRECATED_AT, sunset=SUNSET, successor="/api/v2")
LEGACY_POLICY = DeprecationPolicy(
    deprecated_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    sunset=date(2026, 6, 30),
    successor="/api/v2/widgets",
    documentation="https://docs.example.com/migrate",
)


class Widget(BaseModel):
    name: str


def v1_router() -> APIRouter:
    router = APIRouter(prefix="/widgets", tags=["widgets"])

    @router.get("/{widget_id}")
    async def get_widget_v1(widget_id: int) -> Widget:
        if widget_id == 0:
            raise NotFoundError(f"No widget {widget_id}.")
        return Widget(name=f"v1-{widget_id}")

    @router.get("/old/{widget_id}", deprecated=True)
    async def old_widget_v1(widget_id: int) -> Widget:
        return Widget(name="old")

    return router


def v2_router() -> APIRouter:
    router = APIRouter(prefix="/widgets", tags=["widgets"])

    @router.post("")
    async def create_widget_v2(widget: Widget) -> Widget:
        return widget

    @router.get("/legacy", **deprecated_operation(LEGACY_POLICY))
    async def legacy_v2() -> Widget:
        return Widget(name="legacy")

    @router.get("/plain-deprecated", **deprecated_operation())
    async def plain_deprecated_v2() -> Widget:
        return Widget(name="plain")

    @router.get("/crash")
    async def crash_v2() -> None:
        raise RuntimeError("secret internals")

    return router


def build_app() -> FastAPI:
    app = build_versioned_api(
        [
            ApiVersion("v1", routers=[v1_router()], deprecated=V1_POLICY),
            ApiVersion("v2", routers=[v2_router()], description="The current API"),
        ],
        title="Widgets",
    )
    app.add_middleware(RequestIdMiddleware)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


async def test_both_versions_are_served_at_once() -> None:
    async with client(build_app()) as http:
        v1 = await http.get("/api/v1/widgets/7")
        v2 = await http.post("/api/v2/widgets", json={"name": "new"})
        v2_has_no_v1_route = await http.get("/api/v2/widgets/7")
    assert v1.json() == {"name": "v1-7"}
    assert v2.json() == {"name": "new"}
    assert v2_has_no_v1_route.status_code in {404, 405}


async def test_each_version_has_its_own_openapi_31_document() -> None:
    async with client(build_app()) as http:
        v1 = (await http.get("/api/v1/openapi.json")).json()
        v2 = (await http.get("/api/v2/openapi.json")).json()
        root = await http.get("/openapi.json")
    assert v1["openapi"].startswith("3.1")
    assert v2["openapi"].startswith("3.1")
    assert (v1["info"]["title"], v1["info"]["version"]) == ("Widgets v1", "v1")
    assert (v2["info"]["title"], v2["info"]["description"]) == ("Widgets v2", "The current API")
    assert set(v1["paths"]) == {"/widgets/{widget_id}", "/widgets/old/{widget_id}"}
    assert set(v2["paths"]) == {"/widgets", "/widgets/legacy", "/widgets/plain-deprecated", "/widgets/crash"}
    assert v1["servers"] == [{"url": "/api/v1"}]
    assert v2["servers"] == [{"url": "/api/v2"}]
    assert root.status_code == 404
    assert root.headers["content-type"] == PROBLEM_MEDIA_TYPE


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("page", ["docs", "redoc"])
async def test_docs_pages_point_at_their_own_version_schema(version: str, page: str) -> None:
    async with client(build_app()) as http:
        response = await http.get(f"/api/{version}/{page}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f"/api/{version}/openapi.json" in response.text
    other = "v2" if version == "v1" else "v1"
    assert f"/api/{other}/openapi.json" not in response.text


async def test_errors_are_documented_as_problems_instead_of_fastapis_422_body() -> None:
    async with client(build_app()) as http:
        v2 = (await http.get("/api/v2/openapi.json")).json()
    responses = v2["paths"]["/widgets"]["post"]["responses"]
    assert responses["422"]["content"] == responses["default"]["content"]
    assert responses["default"]["content"][PROBLEM_MEDIA_TYPE]["schema"] == {"$ref": "#/components/schemas/Problem"}
    schema = v2["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "code", "request_id"} <= set(schema["properties"])
    assert "HTTPValidationError" not in v2.get("components", {}).get("schemas", {})
    assert responses["default"]["description"] == PROBLEM_RESPONSES["default"]["description"]


async def test_a_deprecated_version_flags_every_operation_and_sends_the_headers() -> None:
    async with client(build_app()) as http:
        v1_schema = (await http.get("/api/v1/openapi.json")).json()
        ok = await http.get("/api/v1/widgets/7")
        missing = await http.get("/api/v1/widgets/0")
        unknown = await http.get("/api/v1/nowhere")
    operations = [operation for path in v1_schema["paths"].values() for operation in path.values()]
    assert operations
    assert all(operation["deprecated"] is True for operation in operations)
    for response in (ok, missing, unknown):
        assert response.headers["deprecation"] == f"@{int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())}"
        assert response.headers["deprecation"] == "@1767225600"
        assert response.headers["sunset"] == "Thu, 31 Dec 2026 00:00:00 GMT"
        assert response.headers["link"] == '</api/v2>; rel="successor-version"'
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM_MEDIA_TYPE


async def test_a_route_deprecated_inside_a_deprecated_version_uses_the_version_policy() -> None:
    async with client(build_app()) as http:
        response = await http.get("/api/v1/widgets/old/1")
    assert response.headers["sunset"] == "Thu, 31 Dec 2026 00:00:00 GMT"


async def test_a_current_version_sends_no_deprecation_headers() -> None:
    async with client(build_app()) as http:
        v2_schema = (await http.get("/api/v2/openapi.json")).json()
        response = await http.post("/api/v2/widgets", json={"name": "x"})
    assert "deprecation" not in response.headers
    assert "sunset" not in response.headers
    assert "deprecated" not in v2_schema["paths"]["/widgets"]["post"]


async def test_one_deprecated_operation_gets_its_own_policy_in_headers_and_openapi() -> None:
    async with client(build_app()) as http:
        v2_schema = (await http.get("/api/v2/openapi.json")).json()
        first = await http.get("/api/v2/widgets/legacy")
        second = await http.get("/api/v2/widgets/legacy")  # served from the middleware's cache
        wrong_method = await http.delete("/api/v2/widgets/legacy")
    operation = v2_schema["paths"]["/widgets/legacy"]["get"]
    assert operation["deprecated"] is True
    assert operation["x-sunset"] == "2026-06-30T00:00:00+00:00"
    assert operation["x-deprecated-at"] == "2026-03-01T12:00:00+00:00"
    assert operation["x-successor-version"] == "/api/v2/widgets"
    for response in (first, second, wrong_method):
        assert response.headers["deprecation"] == "@1772366400"
        assert response.headers["sunset"] == "Tue, 30 Jun 2026 00:00:00 GMT"
        assert response.headers.get_list("link") == [
            '</api/v2/widgets>; rel="successor-version"',
            '<https://docs.example.com/migrate>; rel="deprecation"; type="text/html"',
        ]
    assert wrong_method.status_code == 405


async def test_an_operation_deprecated_without_a_policy_in_a_current_version_says_since_always() -> None:
    async with client(build_app()) as http:
        response = await http.get("/api/v2/widgets/plain-deprecated")
    assert response.headers["deprecation"] == "@0"
    assert "sunset" not in response.headers
    assert "link" not in response.headers


async def test_sub_applications_answer_with_problems_and_log_a_crash_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="apibase.interface.http.problems"):
        async with client(build_app()) as http:
            invalid = await http.post("/api/v2/widgets", json={}, headers={"X-Request-ID": "v-422"})
            crashed = await http.get("/api/v2/widgets/crash", headers={"X-Request-ID": "v-500"})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert invalid.json()["instance"] == "/api/v2/widgets"
    assert invalid.json()["request_id"] == "v-422"
    assert invalid.json()["errors"] == [{"loc": ["body", "name"], "message": "Field required", "type": "missing"}]
    assert crashed.status_code == 500
    assert crashed.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = crashed.json()
    assert (body["code"], body["instance"], body["request_id"]) == ("common.internal", "/api/v2/widgets/crash", "v-500")
    assert crashed.headers.get_list("x-request-id") == ["v-500"]
    assert "secret" not in crashed.text
    assert len(caplog.records) == 1


async def test_mount_versions_on_an_existing_app_returns_the_sub_applications() -> None:
    app = FastAPI(title="Shop")
    mounted = mount_versions(app, [ApiVersion("v1", routers=[v1_router()], title="Shop API one")], prefix="/rest/")
    assert set(mounted) == {"v1"}
    assert mounted["v1"].title == "Shop API one"
    async with client(app) as http:
        response = await http.get("/rest/v1/widgets/3")
        schema = (await http.get("/rest/v1/openapi.json")).json()
    assert response.json() == {"name": "v1-3"}
    assert schema["info"]["title"] == "Shop API one"


def test_version_names_are_path_segments_and_unique() -> None:
    with pytest.raises(ValueError, match="lowercase path segment"):
        ApiVersion("V1/x")
    with pytest.raises(ValueError, match="unique"):
        mount_versions(FastAPI(), [ApiVersion("v1"), ApiVersion("v1")])
    assert build_version_app(ApiVersion("v3", info_version="3.0.0")).version == "3.0.0"


def test_deprecation_policy_validation() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DeprecationPolicy(sunset=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="before the deprecation"):
        DeprecationPolicy(deprecated_at=date(2026, 2, 1), sunset=date(2026, 1, 31))
    for link in ("", "  ", "<evil>", "a\r\nSet-Cookie: x", 'a"b'):
        with pytest.raises(ValueError, match="link target"):
            DeprecationPolicy(successor=link)
    with pytest.raises(ValueError, match="link target"):
        DeprecationPolicy(documentation="<x>")


def test_policy_headers_normalise_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    policy = DeprecationPolicy(
        deprecated_at=datetime(2026, 1, 1, 2, 0, tzinfo=plus_two), sunset=datetime(2026, 7, 1, 2, 0, tzinfo=plus_two)
    )
    assert policy.headers() == [("Deprecation", "@1767225600"), ("Sunset", "Wed, 01 Jul 2026 00:00:00 GMT")]
    assert DeprecationPolicy().headers() == [("Deprecation", "@0")]
    assert DeprecationPolicy().openapi_extra() == {}


def test_policy_round_trips_through_openapi_extra() -> None:
    assert DeprecationPolicy.from_openapi_extra(LEGACY_POLICY.openapi_extra()).headers() == LEGACY_POLICY.headers()
    assert DeprecationPolicy.from_openapi_extra(None) == DeprecationPolicy()


def test_policy_from_openapi_extra_skips_what_does_not_parse() -> None:
    policy = DeprecationPolicy.from_openapi_extra(
        {
            "x-deprecated-at": "2026-05-01",
            "x-sunset": "2026-04-01T00:00:00Z",  # before the deprecation: dropped
            "x-successor-version": "<bad>",
            "x-deprecation-documentation": 42,
        }
    )
    assert policy == DeprecationPolicy(deprecated_at=datetime(2026, 5, 1, tzinfo=UTC))
    garbage = DeprecationPolicy.from_openapi_extra({"x-deprecated-at": "yesterday", "x-sunset": 5})
    assert garbage == DeprecationPolicy()


def test_deprecated_operation_gives_route_keyword_arguments() -> None:
    assert deprecated_operation() == {"deprecated": True, "openapi_extra": {}}
    assert deprecated_operation(V1_POLICY)["openapi_extra"] == {
        "x-deprecated-at": "2026-01-01T00:00:00+00:00",
        "x-sunset": "2026-12-31T00:00:00+00:00",
        "x-successor-version": "/api/v2",
    }


async def test_deprecation_middleware_passes_non_http_scopes_and_ignores_odd_routes() -> None:
    seen: list[str] = []
    sent: list[Message] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        if scope["type"] == "http":
            scope["route"] = "not a route"
            await send({"type": "http.response.start", "status": 200})
            await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = DeprecationHeadersMiddleware(inner, policy=V1_POLICY)
    await middleware({"type": "lifespan"}, receive, send)
    await middleware({"type": "http"}, receive, send)
    assert seen == ["lifespan", "http"]
    assert (b"deprecation", b"@1767225600") in sent[0]["headers"]
    assert sent[1] == {"type": "http.response.body", "body": b""}
