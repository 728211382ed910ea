"""The lean server span is the span ``FastAPIInstrumentor`` makes: same name, kind, parent, attributes, status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import metrics
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler
from opentelemetry.trace import SpanKind

from apibase.core.settings import Settings
from apibase.infrastructure.observability.server_spans import (
    instrument_server_spans,
    lean_server_spans_suffice,
    uninstrument_server_spans,
)
from apibase.infrastructure.observability.tracing import configure_tracing
from apibase.testing.sampling import AttributeWitness

pytestmark = pytest.mark.unit

EXCLUDED = r"/metrics(\?|$)"
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

type Instrument = Callable[[FastAPI, TracerProvider], None]


def _lean(app: FastAPI, provider: TracerProvider) -> None:
    instrument_server_spans(app, tracer_provider=provider, excluded_urls=EXCLUDED)


def _lean_late_attributes(app: FastAPI, provider: TracerProvider) -> None:
    instrument_server_spans(app, tracer_provider=provider, excluded_urls=EXCLUDED, sampler_reads_attributes=False)


def _generic(app: FastAPI, provider: TracerProvider) -> None:
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=EXCLUDED, exclude_spans=["receive", "send"]
    )


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaput")

    @app.get("/metrics")
    async def scrape() -> str:
        return "ok"

    return app


async def _spans(
    instrument: Instrument, path: str, headers: dict[str, str] | None = None, sampler: Sampler | None = None
) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = _app()
    instrument(app, provider)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get(path, headers=headers)
    if instrument is _generic:
        FastAPIInstrumentor.uninstrument_app(app)
    return list(exporter.get_finished_spans())


def _shape(span: ReadableSpan) -> tuple[object, ...]:
    parent = span.parent.span_id if span.parent is not None else None
    events = [(event.name, dict(event.attributes or {}).get("exception.type")) for event in span.events]
    return span.name, span.kind, dict(span.attributes or {}), span.status.status_code, parent, events


@pytest.mark.parametrize("lean_instrument", [_lean, _lean_late_attributes])
@pytest.mark.parametrize("path", ["/items/7?x=1", "/missing", "/boom", "/items/not-a-number"])
async def test_the_lean_span_is_the_instrumentors_span(path: str, lean_instrument: Instrument) -> None:
    [lean] = await _spans(lean_instrument, path, {"traceparent": PARENT})
    [generic] = await _spans(_generic, path, {"traceparent": PARENT})
    assert _shape(lean) == _shape(generic)
    assert lean.kind is SpanKind.SERVER
    assert lean.context.trace_id == generic.context.trace_id == int(PARENT.split("-")[1], 16)


async def test_excluded_urls_get_no_span() -> None:
    assert await _spans(_lean, "/metrics") == []


async def test_uninstrumenting_removes_the_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = _app()
    _lean(app, provider)
    with pytest.raises(RuntimeError, match="already"):
        _lean(app, provider)
    uninstrument_server_spans(app)
    uninstrument_server_spans(app)  # twice is harmless
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/items/1")).status_code == 200
    assert exporter.get_finished_spans() == ()


def test_header_capture_needs_the_generic_instrumentation(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lean_server_spans_suffice()
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", "x-tenant-id")
    assert not lean_server_spans_suffice()


def test_a_global_meter_provider_needs_the_generic_instrumentation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "get_meter_provider", MeterProvider)
    assert not lean_server_spans_suffice()


def test_the_tracing_handle_falls_back_to_the_instrumentor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE", "etag")
    handle = configure_tracing(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"))
    app = _app()
    handle.instrument_app(app)
    assert getattr(app, "_is_instrumented_by_opentelemetry", False)
    handle.shutdown()
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)


async def test_a_sampler_that_reads_attributes_sees_them_unless_told_it_does_not() -> None:
    reading, blind = AttributeWitness(), AttributeWitness()
    [told] = await _spans(_lean, "/items/1", sampler=reading)
    [untold] = await _spans(_lean_late_attributes, "/items/1", sampler=blind)
    assert reading.seen[0]["http.method"] == "GET"
    assert blind.seen == [{}]
    assert told.attributes == untold.attributes


async def test_an_unsampled_request_records_nothing() -> None:
    assert await _spans(_lean_late_attributes, "/items/1", sampler=ALWAYS_OFF) == []
