"""Every error response is an RFC 9457 problem with code, instance and request id; no internals leak."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from apibase.core.error_codes import CommonErrorCode
from apibase.core.errors import (
    BadRequestError,
    ConcurrencyConflict,
    DependencyTimeout,
    DependencyUnavailable,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    PersistenceError,
    PreconditionFailedError,
    TooManyRequestsError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationFailed,
)
from apibase.core.problem_details import DEFAULT_PROBLEM_TYPE_BASE, ProblemDetail
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.problems import (
    PROBLEM_MEDIA_TYPE,
    REQUEST_ID_SCOPE_KEY,
    ProblemResponse,
    http_problem,
    install_problem_handlers,
    problem_response,
    request_id_for,
    send_problem,
)

pytestmark = pytest.mark.unit

SECRET = "db-password=hunter2"


class Item(BaseModel):
    name: str = Field(min_length=3)
    quantity: int


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    raising = {
        "bad-request": BadRequestError("The filter is malformed."),
        "unauthorized": UnauthorizedError("No credentials."),
        "forbidden": ForbiddenError("Not yours."),
        "not-found": NotFoundError("No widget 7."),
        "concurrency": ConcurrencyConflict("Widget 7 changed.", extensions={"expected_version": 3}),
        "precondition": PreconditionFailedError("Stale If-Match."),
        "too-large": PayloadTooLargeError("Too big."),
        "media-type": UnsupportedMediaTypeError("Send JSON."),
        "validation": ValidationFailed("Bad sort field.", extensions={"errors": []}),
        "rate-limited": TooManyRequestsError("Slow down.", retry_after_seconds=30),
        "rate-limited-bare": TooManyRequestsError("Slow down."),
        "unavailable": DependencyUnavailable("The database is down."),
        "timeout": DependencyTimeout("The database did not answer."),
        "persistence": PersistenceError("Could not write."),
        "bool-retry": DependencyUnavailable("Down.", extensions={"retry_after": True}),
        "negative-retry": DependencyUnavailable("Down.", extensions={"retry_after": -1}),
        "extension-clash": NotFoundError("x", extensions={"request_id": "forged", "status": 200}),
    }

    @app.get("/errors/{name}")
    async def raise_error(name: str) -> None:
        raise raising[name]

    @app.get("/http/{status}")
    async def raise_http(status: int, request: Request) -> None:
        headers = dict(request.query_params) or None
        raise HTTPException(status_code=status, headers=headers)

    @app.get("/http-detail")
    async def http_with_detail() -> None:
        raise HTTPException(status_code=409, detail="Widget name taken.")

    @app.get("/http-dict-detail")
    async def http_with_dict_detail() -> None:
        raise HTTPException(status_code=400, detail={"field": SECRET})

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError(SECRET)

    @app.post("/items")
    async def create_item(item: Item) -> Item:
        return item

    @app.get("/only-get")
    async def only_get() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def client(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def assert_problem(response: httpx.Response, status: int, code: str, instance: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"{DEFAULT_PROBLEM_TYPE_BASE}{code}"
    assert body["instance"] == instance
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["request_id"] == response.headers["x-request-id"]
    assert len(response.headers.get_list("x-request-id")) == 1
    return body


@pytest.mark.parametrize(
    ("name", "status", "code", "title"),
    [
        ("bad-request", 400, "common.bad_request", "Bad request"),
        ("unauthorized", 401, "common.unauthorized", "Unauthorized"),
        ("forbidden", 403, "common.forbidden", "Forbidden"),
        ("not-found", 404, "common.not_found", "Not found"),
        ("concurrency", 409, "common.concurrency_conflict", "Concurrent modification"),
        ("precondition", 412, "common.precondition_failed", "Precondition failed"),
        ("too-large", 413, "common.payload_too_large", "Content too large"),
        ("media-type", 415, "common.unsupported_media_type", "Unsupported media type"),
        ("validation", 422, "common.validation_failed", "Validation failed"),
        ("rate-limited", 429, "common.rate_limited", "Too many requests"),
        ("unavailable", 503, "common.dependency_unavailable", "Dependency unavailable"),
        ("timeout", 504, "common.dependency_timeout", "Dependency timed out"),
        ("persistence", 500, "common.persistence_failed", "Persistence failed"),
    ],
)
async def test_app_errors_become_their_problem(name: str, status: int, code: str, title: str) -> None:
    async with client(build_app()) as http:
        response = await http.get(f"/errors/{name}", headers={"X-Request-ID": f"req-{name}"})
    body = assert_problem(response, status, code, f"/errors/{name}")
    assert body["title"] == title
    assert body["request_id"] == f"req-{name}"


async def test_extensions_ride_along_but_never_replace_standard_members() -> None:
    async with client(build_app()) as http:
        conflict = await http.get("/errors/concurrency")
        clash = await http.get("/errors/extension-clash")
    assert conflict.json()["expected_version"] == 3
    body = assert_problem(clash, 404, "common.not_found", "/errors/extension-clash")
    assert body["request_id"] != "forged"


async def test_a_retry_after_extension_becomes_the_retry_after_header() -> None:
    async with client(build_app()) as http:
        limited = await http.get("/errors/rate-limited")
        bare = await http.get("/errors/rate-limited-bare")
        not_a_number = await http.get("/errors/bool-retry")
        negative = await http.get("/errors/negative-retry")
    assert limited.headers["retry-after"] == "30"
    assert limited.json()["retry_after"] == 30
    assert "retry-after" not in bare.headers
    assert "retry-after" not in not_a_number.headers
    assert "retry-after" not in negative.headers


def test_too_many_requests_refuses_a_negative_retry_after() -> None:
    with pytest.raises(ValueError, match="negative"):
        TooManyRequestsError("x", retry_after_seconds=-1)
    assert TooManyRequestsError("x", extensions={"a": 1}, retry_after_seconds=0).extensions == {
        "a": 1,
        "retry_after": 0,
    }


async def test_invalid_fields_give_422_with_loc_message_type_and_never_the_input() -> None:
    async with client(build_app()) as http:
        response = await http.post("/items", json={"name": SECRET[:2], "quantity": SECRET})
    body = assert_problem(response, 422, "common.validation_failed", "/items")
    assert body["errors"] == [
        {"loc": ["body", "name"], "message": "String should have at least 3 characters", "type": "string_too_short"},
        {
            "loc": ["body", "quantity"],
            "message": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        },
    ]
    assert "hunter2" not in response.text
    assert "db-password" not in response.text


async def test_malformed_json_is_a_400_bad_request() -> None:
    async with client(build_app()) as http:
        response = await http.post(
            "/items", content=b'{"name": "' + SECRET.encode(), headers={"Content-Type": "application/json"}
        )
    body = assert_problem(response, 400, "common.bad_request", "/items")
    assert body["detail"] == "The request body is not valid JSON."
    assert "hunter2" not in response.text


async def test_unknown_route_is_a_404_problem() -> None:
    async with client(build_app()) as http:
        response = await http.get("/nowhere")
    assert_problem(response, 404, "common.not_found", "/nowhere")


async def test_wrong_method_is_a_405_problem_that_keeps_the_allow_header() -> None:
    async with client(build_app()) as http:
        response = await http.delete("/only-get")
    body = assert_problem(response, 405, "common.method_not_allowed", "/only-get")
    assert body["title"] == "Method not allowed"
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("status", "code", "title"),
    [
        (400, "common.bad_request", "Bad request"),
        (401, "common.unauthorized", "Unauthorized"),
        (403, "common.forbidden", "Forbidden"),
        (404, "common.not_found", "Not found"),
        (409, "common.conflict", "Conflict"),
        (412, "common.precondition_failed", "Precondition failed"),
        (413, "common.payload_too_large", "Content too large"),
        (415, "common.unsupported_media_type", "Unsupported media type"),
        (422, "common.validation_failed", "Validation failed"),
        (429, "common.rate_limited", "Too many requests"),
        (500, "common.internal", "Internal error"),
        (503, "common.dependency_unavailable", "Dependency unavailable"),
        (504, "common.dependency_timeout", "Dependency timed out"),
        (410, "common.bad_request", "Gone"),
        (418, "common.bad_request", "I'm a Teapot"),
        (501, "common.internal", "Not Implemented"),
    ],
)
async def test_http_exceptions_map_their_status_to_a_code(status: int, code: str, title: str) -> None:
    async with client(build_app()) as http:
        response = await http.get(f"/http/{status}")
    body = assert_problem(response, status, code, f"/http/{status}")
    assert body["title"] == title


async def test_http_exception_headers_are_kept_but_cannot_change_the_content_type() -> None:
    async with client(build_app()) as http:
        limited = await http.get("/http/429", params={"Retry-After": "7"})
        challenged = await http.get(
            "/http/401", params={"WWW-Authenticate": "Bearer", "Content-Type": "text/html", "Content-Length": "1"}
        )
    assert_problem(limited, 429, "common.rate_limited", "/http/429")
    assert limited.headers["retry-after"] == "7"
    assert_problem(challenged, 401, "common.unauthorized", "/http/401")
    assert challenged.headers["www-authenticate"] == "Bearer"


async def test_http_exception_detail_is_used_when_it_is_text_only() -> None:
    async with client(build_app()) as http:
        text = await http.get("/http-detail")
        mapping = await http.get("/http-dict-detail")
    assert text.json()["detail"] == "Widget name taken."
    assert mapping.json()["detail"] == "Bad Request"
    assert "hunter2" not in mapping.text


async def test_a_non_error_http_exception_keeps_its_status_and_has_no_body() -> None:
    async with client(build_app()) as http:
        response = await http.get("/http/304", params={"ETag": '"x"'})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == '"x"'


async def test_an_unexpected_exception_is_a_500_without_internals_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="apibase.interface.http.problems"):
        async with client(build_app()) as http:
            response = await http.get("/crash", headers={"X-Request-ID": "crash-1"})
    body = assert_problem(response, 500, "common.internal", "/crash")
    assert body["request_id"] == "crash-1"
    assert body["detail"] == "The server could not complete the request."
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    [record] = caplog.records
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "Unhandled RuntimeError on GET /crash" in record.getMessage()


async def test_server_side_app_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="apibase.interface.http.problems"):
        async with client(build_app()) as http:
            await http.get("/errors/persistence")
            await http.get("/errors/not-found")
    [record] = caplog.records
    assert "PersistenceError (common.persistence_failed) answered with 500" in record.getMessage()


async def test_without_the_request_id_middleware_the_id_is_null() -> None:
    app = FastAPI()
    install_problem_handlers(app)
    async with client(app) as http:
        response = await http.get("/nowhere")
    assert response.json()["request_id"] is None
    assert "x-request-id" not in response.headers


def test_request_id_for_reads_the_scope_when_the_context_variable_is_unset() -> None:
    assert request_id_for({"type": "http"}) is None
    assert request_id_for({"type": "http", REQUEST_ID_SCOPE_KEY: "from-scope"}) == "from-scope"
    assert request_id_for({"type": "http", REQUEST_ID_SCOPE_KEY: 42}) is None


def test_problem_response_renders_the_problem_with_its_request_id() -> None:
    problem = NotFoundError("gone").to_problem_detail(instance="/w/1")
    response = problem_response(problem, request_id="abc", headers={"content-type": "text/plain", "X-Extra": "1"})
    assert isinstance(response, ProblemResponse)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["x-request-id"] == "abc"
    assert response.headers["x-extra"] == "1"
    assert bytes(response.body).startswith(b'{"type":"https://apibase.dev/problems/common.not_found"')


def test_http_problem_for_known_unknown_and_odd_statuses() -> None:
    assert http_problem(404, instance="/x") == NotFoundError("Not Found").to_problem_detail(instance="/x")
    assert http_problem(405).code == CommonErrorCode.METHOD_NOT_ALLOWED
    odd = http_problem(599, detail="custom")
    assert odd == ProblemDetail(
        type=f"{DEFAULT_PROBLEM_TYPE_BASE}common.internal",
        title="Error",
        status=599,
        detail="custom",
        code="common.internal",
    )


async def test_a_middleware_problem_names_the_request_path_as_its_instance() -> None:
    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await send_problem(scope, receive, send, TooManyRequestsError("slow down").to_problem_detail())

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=refuse), base_url="http://t") as http:
        response = await http.get("/api/v2/products?limit=5")
    assert response.json()["instance"] == "/api/v2/products"
