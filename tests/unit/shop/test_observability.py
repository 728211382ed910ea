"""One real request through the whole service: its log line, its span tree, its metrics and masked PII agree."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from apibase.core.settings import EventsSettings
from apibase.infrastructure.events.relay import OutboxRelay
from apibase.infrastructure.messaging import InMemoryMessageSink
from apibase.infrastructure.observability.tracing import configure_tracing
from apibase.kernel import Kernel
from apibase.testing.service import service_settings, sign_up
from shop.main import create_app

pytestmark = pytest.mark.unit

PRODUCT = {"sku": "OBS-001", "name": "Lamp", "price": {"amount": "19.00", "currency": "EUR"}, "stock": 5}


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def app(tmp_path: Path, exporter: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]) -> FastAPI:
    """``capsys`` first: the log handler takes the stderr of the moment ``create_app`` configures logging."""
    # The test runs the relay itself (below), so no background relay takes the order's event first.
    events = EventsSettings(relay_enabled=False)
    settings = service_settings(tmp_path / "service.db", log_json=True, service_name="orders", events=events)
    return create_app(settings, tracing=configure_tracing(settings, exporters=[exporter]))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        http.headers.update(await sign_up(http))
        yield http


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def field(document: dict[str, object], dotted: str) -> object:
    value: object = document
    for part in dotted.split("."):
        assert isinstance(value, dict), dotted
        value = value.get(part)
    return value


async def test_one_order_is_one_story_in_logs_traces_and_metrics(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    product = (await client.post("/api/v2/products", json=PRODUCT)).json()["data"]
    capsys.readouterr()
    exporter.clear()

    body = {"customer_email": "ada@example.com", "lines": [{"product_id": product["id"], "quantity": 2}]}
    placed = await client.post("/api/v2/orders", json=body, headers={"X-Request-ID": "req-observed-1"})
    assert placed.status_code == 201, placed.text

    # the span tree: HTTP server span -> command span -> SQL spans, one trace
    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    command = next(span for span in spans if span.name == "command PlaceOrder")
    server = by_id[command.parent.span_id] if command.parent else None
    while server is not None and server.kind is not trace.SpanKind.SERVER and server.parent is not None:
        server = by_id.get(server.parent.span_id)
    assert server is not None
    assert server.kind is trace.SpanKind.SERVER
    assert server.name == "POST /api/v2/orders"  # the route template, not the version mount
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/api/v2/orders"
    inserts = [span for span in spans if span.name.startswith("INSERT") and span.parent is not None]
    assert sum(span.parent.span_id == command.context.span_id for span in inserts) >= 2  # the order and its lines
    trace_id = trace.format_trace_id(command.context.trace_id)
    assert {trace.format_trace_id(span.context.trace_id) for span in spans} == {trace_id}

    # the access log line: ECS fields, the request id, the same trace id
    lines = json_lines(capsys.readouterr().err)
    access = next(line for line in lines if line.get("message") == "request")
    assert access["@timestamp"]
    assert field(access, "log.level") == "info"
    assert field(access, "service.name") == "orders"
    assert field(access, "http.request.id") == "req-observed-1"
    assert field(access, "http.request.method") == "POST"
    assert field(access, "http.route") == "/api/v2/orders"
    assert field(access, "http.response.status_code") == 201
    assert isinstance(field(access, "event.duration"), int)
    assert field(access, "trace.id") == trace_id
    assert field(access, "user.id") is not None

    # the metrics: RED per route template and the business counter
    exposition = (await client.get("/metrics")).text
    assert 'http_requests_total{method="POST",route="/api/v2/orders",status="201"} 1.0' in exposition
    assert "orders_placed_total 1.0" in exposition


async def test_a_refused_login_is_logged_with_the_address_masked(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    refused = await client.post("/api/v2/auth/login", json={"email": "ada@example.com", "password": "wrong-password"})
    assert refused.status_code == 401

    output = capsys.readouterr().err
    assert "ada@example.com" not in output
    assert "wrong-password" not in output
    event = next(line for line in json_lines(output) if str(line.get("message", "")).startswith("login refused"))
    assert "@example.com" in str(event["message"])
    assert field(event, "log.level") == "warning"
    exposition = (await client.get("/metrics")).text
    assert 'login_failures_total{reason="auth.invalid_credentials"} 1.0' in exposition


async def test_the_order_placed_event_leaves_the_outbox_as_a_cloud_event_in_the_requests_trace(
    app: FastAPI, client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    product = (await client.post("/api/v2/products", json=PRODUCT)).json()["data"]
    body = {"customer_email": "ada@example.com", "lines": [{"product_id": product["id"], "quantity": 1}]}
    placed = await client.post(
        "/api/v2/orders", json=body, headers={"X-Correlation-ID": "checkout-42", "X-Request-ID": "req-7"}
    )
    assert placed.status_code == 201

    container: Kernel = app.state.kernel
    sink = InMemoryMessageSink()
    assert await OutboxRelay(container.session_factory, sink).run_once() >= 1
    sent = sink.sent
    event = next(message for message in sent if message.get_type() == "apibase.OrderPlaced")
    command = next(span for span in exporter.get_finished_spans() if span.name == "command PlaceOrder")
    traceparent = str(event.get_extension("traceparent"))
    assert traceparent.split("-")[1] == trace.format_trace_id(command.context.trace_id)
    assert event.get_extension("correlationid") == "checkout-42"
