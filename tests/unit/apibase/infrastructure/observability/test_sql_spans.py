"""The lean SQL spans are the spans ``EngineTracer`` makes: same name, kind, scope, parent, attributes, status."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pytest
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler
from opentelemetry.trace import SpanKind
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from apibase.core.settings import Settings
from apibase.infrastructure.observability import sql_spans
from apibase.infrastructure.observability.sampling import LeanParentBasedTraceIdRatio
from apibase.infrastructure.observability.sql_spans import lean_sql_spans_suffice
from apibase.infrastructure.observability.tracing import TracingHandle
from apibase.testing.sampling import AttributeWitness

pytestmark = pytest.mark.unit

#: ``generic`` is ``EngineTracer`` (what a global meter provider selects); ``lean`` and ``lean_blind`` are
#: ``SqlSpans`` for a sampler that reads attributes and for one said not to.
type Variant = Literal["generic", "lean", "lean_blind"]
STATEMENTS: tuple[tuple[str, object], ...] = (
    ("CREATE TABLE t (x INTEGER)", None),
    ("INSERT INTO t (x) VALUES (:x)", [{"x": 1}, {"x": 2}]),
    ("/* a comment */ SELECT x FROM t WHERE x = :x", {"x": 1}),
    ("SELECT x FROM t", None),
    ("SELECT x FROM t", None),
    ("select count(*) from t", None),
    ("SELECT * FROM missing", None),
)


def _handle(variant: Variant, provider: TracerProvider, tmp_path: Path) -> TracingHandle:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/settings.db")
    return TracingHandle(provider, settings, sampler_reads_attributes=variant != "lean_blind")


def _run_sync(engine: Engine, statements: Sequence[tuple[str, object]]) -> None:
    with engine.connect() as connection:
        for statement, parameters in statements:
            try:
                connection.execute(text(statement), parameters)  # type: ignore[arg-type]
            except OperationalError:
                connection.rollback()


async def _run_async(engine: AsyncEngine, statements: Sequence[tuple[str, object]]) -> None:
    async with engine.connect() as connection:
        for statement, parameters in statements:
            try:
                await connection.execute(text(statement), parameters)  # type: ignore[arg-type]
            except OperationalError:
                await connection.rollback()


async def _spans(
    variant: Variant,
    tmp_path: Path,
    *,
    driver: Literal["sync", "async"] = "async",
    sampler: Sampler | None = None,
    statements: Sequence[tuple[str, object]] = STATEMENTS,
) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handle = _handle(variant, provider, tmp_path)
    database = tmp_path / f"{variant}-{driver}.db"
    with pytest.MonkeyPatch.context() as patch:
        if variant == "generic":
            patch.setattr(metrics, "get_meter_provider", MeterProvider)
        if driver == "sync":
            engine = create_engine(f"sqlite:///{database}")
            handle.instrument_engine(engine)
        else:
            async_engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
            handle.instrument_engine(async_engine)
            engine = async_engine.sync_engine
    is_generic = any(entry[0]() is engine for entry in EngineTracer._remove_event_listener_params)
    assert is_generic == (variant == "generic")
    with provider.get_tracer("test").start_as_current_span("parent"):
        if driver == "sync":
            _run_sync(engine, statements)
        else:
            await _run_async(async_engine, statements)
    handle.shutdown()
    if driver == "sync":
        engine.dispose()
    else:
        await async_engine.dispose()
    return list(exporter.get_finished_spans())


def _shapes(spans: Sequence[ReadableSpan]) -> list[tuple[object, ...]]:
    """Every span field but ids and times; the parent by name, the database file name made neutral."""
    names = {span.context.span_id: span.name for span in spans}
    shapes: list[tuple[object, ...]] = []
    for span in spans:
        attributes = dict(span.attributes or {})
        database = str(attributes.get("db.name", "<none>"))
        neutral = {key: str(value).replace(database, "<db>") for key, value in attributes.items()}
        scope = span.instrumentation_scope
        shapes.append(
            (
                span.name.replace(database, "<db>"),
                span.kind,
                neutral,
                span.status.status_code,
                span.status.description,
                names.get(span.parent.span_id) if span.parent is not None else None,
                (scope.name, scope.version, scope.schema_url) if scope is not None else None,
                [event.name for event in span.events],
            )
        )
    return shapes


@pytest.mark.parametrize("driver", ["sync", "async"])
@pytest.mark.parametrize("lean", ["lean", "lean_blind"])
async def test_the_lean_spans_are_the_engine_tracers_spans(
    driver: Literal["sync", "async"], lean: Variant, tmp_path: Path
) -> None:
    generic = await _spans("generic", tmp_path, driver=driver)
    ours = await _spans(lean, tmp_path, driver=driver)
    assert _shapes(ours) == _shapes(generic)
    sql = [span for span in ours if span.kind is SpanKind.CLIENT]
    assert [span.name.split()[0] for span in sql] == ["CREATE", "INSERT", *["SELECT"] * 3, "select", "SELECT"]
    assert sql[-1].attributes is not None
    assert sql[-1].attributes["db.statement"] == "SELECT * FROM missing"
    assert sql[-1].status.status_code is trace.StatusCode.ERROR


async def test_past_the_cache_limit_spans_are_still_computed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    generic = await _spans("generic", tmp_path)
    monkeypatch.setattr(sql_spans, "_KNOWN_STATEMENTS_LIMIT", 1)
    ours = await _spans("lean_blind", tmp_path)
    assert _shapes(ours) == _shapes(generic)


async def test_a_sampler_that_reads_attributes_sees_none_as_with_the_engine_tracer(tmp_path: Path) -> None:
    reading = AttributeWitness()
    spans = await _spans("lean", tmp_path, sampler=reading, statements=[("SELECT 1", None)])
    assert reading.seen == [{}, {}]  # the parent, then the statement: EngineTracer passes no attributes either
    [sql] = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert sql.attributes is not None
    assert sql.attributes["db.statement"] == "SELECT 1"


@pytest.mark.parametrize("variant", ["lean", "lean_blind"])
async def test_an_unsampled_trace_records_no_sql_span(variant: Variant, tmp_path: Path) -> None:
    assert await _spans(variant, tmp_path, sampler=ALWAYS_OFF) == []


async def test_suppressed_instrumentation_makes_no_span(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handle = _handle("lean", provider, tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path}/suppressed.db")
    handle.instrument_engine(engine)
    with suppress_instrumentation():
        _run_sync(engine, [("SELECT 1", None)])
    assert exporter.get_finished_spans() == ()
    handle.shutdown()
    engine.dispose()


async def test_shutdown_removes_the_listeners(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handle = _handle("lean", provider, tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path}/removed.db")
    handle.instrument_engine(engine)
    _run_sync(engine, [("SELECT 1", None)])
    assert len(exporter.get_finished_spans()) == 1
    handle.shutdown()
    exporter.clear()
    _run_sync(engine, [("SELECT 1", None)])
    assert exporter.get_finished_spans() == ()
    engine.dispose()


def test_a_global_meter_provider_needs_the_engine_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lean_sql_spans_suffice()
    monkeypatch.setattr(metrics, "get_meter_provider", MeterProvider)
    assert not lean_sql_spans_suffice()


@pytest.mark.parametrize("sampled", [True, False])
async def test_under_the_services_sampler_an_unsampled_request_makes_no_sql_span_object(
    sampled: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[str] = []
    start_span = Tracer.start_span

    def counting(self: Tracer, name: str, *args: Any, **kwargs: Any) -> trace.Span:
        started.append(name.split(maxsplit=1)[0])
        return start_span(self, name, *args, **kwargs)

    monkeypatch.setattr(Tracer, "start_span", counting)
    sampler = LeanParentBasedTraceIdRatio(1.0 if sampled else 0.0)
    spans = await _spans("lean_blind", tmp_path, sampler=sampler, statements=[("SELECT 1", None)])
    assert len(spans) == (2 if sampled else 0)
    assert started == (["parent", "SELECT"] if sampled else ["parent"])
