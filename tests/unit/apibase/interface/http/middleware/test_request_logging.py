"""Access log: one line per request with the route template, outcome, timing and caller; never secrets."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import httpx
import pytest
import structlog
from fastapi import APIRouter, FastAPI
from starlette.types import Receive, Scope, Send
from structlog.testing import capture_logs

from apibase.core.errors import NotFoundError, UnauthorizedError
from apibase.core.principal import AuthMethod, Principal
from apibase.infrastructure.observability import configure_logging
from apibase.interface.http.middleware.correlation import CorrelationIdMiddleware
from apibase.interface.http.middleware.request_id import RequestIdMiddleware
from apibase.interface.http.middleware.request_logging import RequestLoggingMiddleware, route_template
from apibase.interface.http.problems import install_problem_handlers, send_problem

pytestmark = pytest.mark.unit

CALLER = Principal("alice", "acme", frozenset({"admin"}), frozenset(), AuthMethod.ACCESS_TOKEN)
SECRETS = ("s3cr3t-token", "session=abc", "hunter2", "needle")


class FakeAuthentication:
    """Stands in for the authentication middleware: leaves a caller in the state, or refuses before routing."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/v1/locked"):
            await send_problem(scope, receive, send, UnauthorizedError("no").to_problem_detail())
            return
        if scope["type"] == "http":
            scope.setdefault("state", {}).update(principal=CALLER, tenant="acme")
        await self.app(scope, receive, send)


def build_app(*, exclude: tuple[str, ...] = ("/health/",)) -> FastAPI:
    products = APIRouter(prefix="/products")

    @products.get("/{product_id}")
    async def get_product(product_id: str) -> dict[str, str]:
        if product_id == "missing":
            raise NotFoundError("no such product")
        return {"id": product_id}

    @products.post("", status_code=201)
    async def create_product() -> dict[str, str]:
        return {"id": "1"}

    @products.get("/{product_id}/crash")
    async def crash(product_id: str) -> None:
        raise ZeroDivisionError

    v1 = FastAPI()
    install_problem_handlers(v1)
    v1.include_router(products)
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/whoami")
    async def whoami() -> dict[str, str]:
        return {}

    app.mount("/api/v1", v1)
    app.add_middleware(FakeAuthentication)
    app.add_middleware(RequestLoggingMiddleware, exclude_path_prefixes=exclude)
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


async def test_one_line_per_request_with_route_template_and_caller() -> None:
    async with client(build_app()) as http:
        with capture_logs() as logs:
            response = await http.get(
                "/api/v1/products/42?q=needle",
                headers={"X-Request-ID": "rid-1", "Authorization": "Bearer s3cr3t-token", "Cookie": "session=abc"},
            )
    assert response.status_code == 200
    (line,) = logs
    duration = line.pop("duration_ms")
    assert isinstance(duration, float)
    assert duration >= 0
    assert line == {
        "event": "request",
        "log_level": "info",
        "method": "GET",
        "route": "/api/v1/products/{product_id}",
        "path": "/api/v1/products/42",
        "status": 200,
        "request_id": "rid-1",
        "correlation_id": "rid-1",
        "client_ip": "127.0.0.1",
        "user": "alice",
        "tenant": "acme",
    }


async def test_headers_bodies_and_query_strings_are_never_logged() -> None:
    async with client(build_app()) as http:
        with capture_logs() as logs:
            await http.post(
                "/api/v1/products?token=hunter2",
                json={"password": "hunter2"},
                headers={"Authorization": "Bearer s3cr3t-token", "Cookie": "session=abc"},
            )
    (line,) = logs
    assert (line["route"], line["path"]) == ("/api/v1/products", "/api/v1/products")
    assert line["status"] == 201
    assert not any(secret in repr(logs) for secret in SECRETS)


async def test_a_404_without_a_route_logs_the_raw_path_without_query() -> None:
    async with client(build_app()) as http:
        with capture_logs() as logs:
            await http.get("/api/v1/nothing/here?q=needle")
            await http.get("/nowhere")
    assert [(line["route"], line["path"], line["status"]) for line in logs] == [
        ("/api/v1/nothing/here", "/api/v1/nothing/here", 404),
        ("/nowhere", "/nowhere", 404),
    ]


async def test_a_404_from_a_matched_route_keeps_the_template() -> None:
    async with client(build_app()) as http:
        with capture_logs() as logs:
            await http.get("/api/v1/products/missing")
    assert [(line["route"], line["status"]) for line in logs] == [("/api/v1/products/{product_id}", 404)]


async def test_a_refusal_before_routing_logs_no_path() -> None:
    async with client(build_app()) as http:
        with capture_logs() as logs:
            await http.get("/api/v1/locked/7")
    (line,) = logs
    assert (line["route"], line["status"], line["user"], line["tenant"]) == (None, 401, None, None)
    assert line["path"] == "/api/v1/locked/7"


async def test_excluded_paths_are_not_logged() -> None:
    async with client(build_app()) as http:
        with capture_logs() as logs:
            await http.get("/health/live")
    assert logs == []
    async with client(build_app(exclude=("/whoami",))) as http:
        with capture_logs() as logs:
            await http.get("/whoami")
            await http.get("/health/live")
    assert [line["route"] for line in logs] == ["/health/live"]


async def test_an_application_exception_is_logged_as_500_and_re_raised() -> None:
    async with client(build_app()) as http:
        with capture_logs() as logs:
            response = await http.get("/api/v1/products/1/crash")
    assert response.status_code == 500
    (line,) = logs
    assert (line["log_level"], line["status"], line["error"]) == ("error", 500, "ZeroDivisionError")
    assert line["route"] == "/api/v1/products/{product_id}/crash"


async def test_the_exception_propagates_from_a_bare_application() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("bug")

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        raise AssertionError("nothing is sent")

    scope: Scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
    with capture_logs() as logs, pytest.raises(RuntimeError, match="bug"):
        await RequestLoggingMiddleware(broken)(scope, receive, send)
    assert [(line["status"], line["error"], line["route"], line["client_ip"]) for line in logs] == [
        (500, "RuntimeError", None, None)
    ]


async def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> dict[str, object]:
        return {"type": "lifespan.startup"}

    async def send(message: object) -> None:
        return None

    with capture_logs() as logs:
        await RequestLoggingMiddleware(app)({"type": "lifespan"}, receive, send)
    assert (seen, logs) == (["lifespan"], [])


def test_route_template_ignores_the_deployment_root_path() -> None:
    route = APIRouter()

    @route.get("/items/{item_id}")
    async def item(item_id: str) -> None:
        return None

    (api_route,) = route.routes
    scope: Scope = {"route": api_route, "root_path": "/svc/api/v1", "app_root_path": "/svc"}
    assert route_template(scope) == "/api/v1/items/{item_id}"
    assert route_template({"route": api_route}) == "/items/{item_id}"
    assert route_template({}) is None


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.mark.usefixtures("restore_logging")
async def test_the_json_line_is_ecs_with_http_and_url_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO", service_name="shop")
    async with client(build_app()) as http:
        await http.get(
            "/api/v1/products/bob@example.org?token=hunter2",
            headers={"X-Request-ID": "rid-json", "X-Correlation-ID": "flow-7"},
        )
    lines = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    (access,) = [line for line in lines if line.get("log", {}).get("logger") == "apibase.access"]
    duration = access["event"].pop("duration")
    assert isinstance(duration, int)
    assert duration > 0  # nanoseconds
    access.pop("@timestamp")
    assert access == {
        "log": {"level": "info", "logger": "apibase.access"},
        "message": "request",
        "http": {
            "request": {"id": "rid-json", "method": "GET"},
            "route": "/api/v1/products/{product_id}",
            "response": {"status_code": 200},
        },
        "url": {"path": "/api/v1/products/b***@example.org"},
        "client": {"ip": "127.0.0.1"},
        "user": {"id": "alice"},
        "organization": {"id": "acme"},
        "labels": {"correlation_id": "flow-7"},
        "event": {},
        "service": {"name": "shop"},
        "ecs": {"version": "8.11.0"},
    }


def test_an_access_line_costs_microseconds(capsys: pytest.CaptureFixture[str], restore_logging: None) -> None:
    """A coarse guard (the budget is ~25 us on a CI core): catches a regression of 10x, not of 10%."""
    configure_logging(json=True, level="INFO")
    logger = structlog.stdlib.get_logger("apibase.access")
    fields = {
        "method": "GET",
        "route": "/api/v1/products/{product_id}",
        "path": "/api/v1/products/42",
        "status": 200,
        "duration_ms": 1.234,
        "request_id": "3f1c2a4e5b6d4e7f8a9b0c1d2e3f4a5b",
        "correlation_id": "3f1c2a4e5b6d4e7f8a9b0c1d2e3f4a5b",
        "client_ip": "127.0.0.1",
        "user": "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
        "tenant": "acme",
    }
    rounds = 2000
    started = time.process_time()
    for _ in range(rounds):
        logger.info("request", **fields)
    per_line = (time.process_time() - started) / rounds
    capsys.readouterr()
    # A guard against an order-of-magnitude regression (a synchronous flush, a deep copy per line), not a speed
    # target: lines cost 60-280 us here depending on the heap under coverage; bench/observability_bench.py measures.
    assert per_line < 1e-3


@pytest.mark.usefixtures("restore_logging")
async def test_the_line_goes_to_the_access_logger(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    async with client(build_app()) as http:
        await http.get("/api/v1/products/42", headers={"X-Request-ID": "rid-json"})
    lines = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    (access,) = [line for line in lines if line["log"]["logger"] == "apibase.access"]
    assert (access["message"], access["http"]["request"]["id"], access["log"]["level"]) == (
        "request",
        "rid-json",
        "info",
    )
