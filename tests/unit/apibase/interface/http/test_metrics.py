"""The scrape endpoint: text format by default, OpenMetrics (with exemplars) when asked, never cached."""

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from apibase.infrastructure.observability.metrics import Metrics
from apibase.interface.http.metrics import metrics_router

pytestmark = pytest.mark.unit


@pytest.fixture
def metrics() -> Metrics:
    metrics = Metrics()
    with TracerProvider().get_tracer(__name__).start_as_current_span("request"):
        metrics.request_finished("GET", "/api/v1/items/{item_id}", 200, 0.02)
    metrics.counter("orders_placed", "Orders placed")()
    return metrics


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_the_text_format_by_default(metrics: Metrics) -> None:
    app = FastAPI()
    app.include_router(metrics_router(metrics))
    async with client_for(app) as client:
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert 'http_requests_total{method="GET",route="/api/v1/items/{item_id}",status="200"} 1.0' in response.text
    assert "orders_placed_total 1.0" in response.text
    assert "trace_id" not in response.text


async def test_openmetrics_with_exemplars_when_the_scraper_asks(metrics: Metrics) -> None:
    app = FastAPI()
    app.include_router(metrics_router(metrics))
    accept = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.1"
    async with client_for(app) as client:
        response = await client.get("/metrics", headers={"Accept": accept})

    assert response.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.text.endswith("# EOF\n")
    assert '# {trace_id="' in response.text


async def test_a_custom_path_outside_the_openapi_document(metrics: Metrics) -> None:
    app = FastAPI()
    app.include_router(metrics_router(metrics, path="/internal/metrics"))
    async with client_for(app) as client:
        assert (await client.get("/internal/metrics")).status_code == 200
        assert (await client.get("/metrics")).status_code == 404
        schema = (await client.get("/openapi.json")).json()

    assert schema["paths"] == {}
