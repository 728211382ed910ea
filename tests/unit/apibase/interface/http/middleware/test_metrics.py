"""RED middleware: counts and durations per route template, bounded labels, the in-flight gauge, exemplars."""

import asyncio

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Response
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client.parser import text_string_to_metric_families

from apibase.infrastructure.observability.metrics import Metrics
from apibase.interface.http.middleware.metrics import MetricsMiddleware, method_label
from apibase.interface.http.problems import install_problem_handlers

pytestmark = pytest.mark.unit

type Labels = tuple[tuple[str, str], ...]


class Gate:
    """Holds the slow endpoint until the test has looked at the in-flight gauge."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()


def build_app(metrics: Metrics, gate: Gate) -> FastAPI:
    items = APIRouter(prefix="/items")

    @items.get("/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @items.get("/{item_id}/crash")
    async def crash(item_id: str) -> None:
        raise ZeroDivisionError

    @items.get("/{item_id}/unavailable")
    async def unavailable(item_id: str) -> Response:
        return Response(status_code=503)

    @items.get("/{item_id}/slow")
    async def slow(item_id: str) -> dict[str, str]:
        gate.entered.set()
        await gate.release.wait()
        return {"id": item_id}

    version = FastAPI()
    version.include_router(items)
    app = FastAPI()
    install_problem_handlers(app)
    app.mount("/api/v1", version)

    @app.get("/metrics")
    async def scrape() -> Response:
        return Response(metrics.render(None)[0])

    app.add_middleware(MetricsMiddleware, metrics=metrics, exclude_paths=("/metrics",))
    return app


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def client(metrics: Metrics, gate: Gate) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(metrics, gate), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def samples(metrics: Metrics, name: str) -> dict[Labels, float]:
    body, _ = metrics.render(None)
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == name
    }


def request_labels(method: str, route: str, status: int) -> Labels:
    return (("method", method), ("route", route), ("status", str(status)))


async def test_requests_are_counted_per_route_template_and_status(client: httpx.AsyncClient, metrics: Metrics) -> None:
    async with client:
        assert (await client.get("/api/v1/items/1")).status_code == 200
        assert (await client.get("/api/v1/items/2?secret=needle")).status_code == 200
        assert (await client.get("/api/v1/nowhere/3")).status_code == 404
        assert (await client.get("/api/v1/items/4/crash")).status_code == 500
        assert (await client.get("/api/v1/items/5/unavailable")).status_code == 503

    assert samples(metrics, "http_requests_total") == {
        request_labels("GET", "/api/v1/items/{item_id}", 200): 2,
        request_labels("GET", "<unmatched>", 404): 1,
        request_labels("GET", "/api/v1/items/{item_id}/crash", 500): 1,
        request_labels("GET", "/api/v1/items/{item_id}/unavailable", 503): 1,
    }
    durations = samples(metrics, "http_request_duration_seconds_count")
    assert durations[(("method", "GET"), ("route", "/api/v1/items/{item_id}"))] == 2
    assert sum(durations.values()) == 5
    exposed = metrics.render(None)[0].decode()
    for raw in ("/items/1", "/items/2", "nowhere", "needle"):
        assert raw not in exposed


async def test_non_standard_methods_share_one_label(client: httpx.AsyncClient, metrics: Metrics) -> None:
    async with client:
        await client.request("BREW", "/api/v1/items/1")
        await client.request("PROPFIND", "/api/v1/items/1")

    assert {dict(labels)["method"] for labels in samples(metrics, "http_requests_total")} == {"OTHER"}
    assert (method_label("PATCH"), method_label("get")) == ("PATCH", "OTHER")


async def test_excluded_paths_are_not_counted(client: httpx.AsyncClient, metrics: Metrics) -> None:
    async with client:
        assert (await client.get("/metrics")).status_code == 200

    assert samples(metrics, "http_requests_total") == {}


async def test_the_in_flight_gauge_counts_a_request_until_it_completes(
    client: httpx.AsyncClient, metrics: Metrics, gate: Gate
) -> None:
    async with client:
        pending = asyncio.create_task(client.get("/api/v1/items/1/slow"))
        await asyncio.wait_for(gate.entered.wait(), timeout=5)
        during = samples(metrics, "http_requests_in_flight")
        gate.release.set()
        assert (await pending).status_code == 200

    assert during == {(): 1}
    assert samples(metrics, "http_requests_in_flight") == {(): 0}


async def test_the_current_trace_becomes_an_exemplar(client: httpx.AsyncClient, metrics: Metrics) -> None:
    tracer = TracerProvider().get_tracer(__name__)
    async with client:
        with tracer.start_as_current_span("GET /api/v1/items/{item_id}") as span:
            await client.get("/api/v1/items/1")
    trace_id = format(span.get_span_context().trace_id, "032x")

    body, _ = metrics.render("application/openmetrics-text")
    counted = next(line for line in body.decode().splitlines() if line.startswith("http_requests_total{"))
    assert counted.split(" # ")[1].startswith(f'{{trace_id="{trace_id}"}}')


async def test_lifespan_and_websocket_scopes_pass_through(metrics: Metrics) -> None:
    seen: list[str] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(str(scope["type"]))

    middleware = MetricsMiddleware(app, metrics=metrics)  # type: ignore[arg-type]
    await middleware({"type": "lifespan"}, None, None)  # type: ignore[arg-type]

    assert seen == ["lifespan"]
    assert samples(metrics, "http_requests_total") == {}
