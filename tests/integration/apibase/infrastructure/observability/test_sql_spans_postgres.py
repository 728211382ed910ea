"""Against PostgreSQL (asyncpg, a URL with a host): the lean SQL spans are the spans ``EngineTracer`` makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from apibase.core.settings import Settings
from apibase.infrastructure.observability.tracing import TracingHandle

pytestmark = pytest.mark.integration

STATEMENTS = ("SELECT 1", "/* note */ SELECT :x::int AS x", "SELECT 1", "SELECT * FROM apibase_no_such_table")


async def _spans(postgres_url: str, tmp_path: Path, *, generic: bool, blind: bool) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/settings.db")
    handle = TracingHandle(provider, settings, sampler_reads_attributes=not blind)
    engine = create_async_engine(postgres_url)
    with pytest.MonkeyPatch.context() as patch:
        if generic:
            patch.setattr(metrics, "get_meter_provider", MeterProvider)
        handle.instrument_engine(engine)
    with provider.get_tracer("test").start_as_current_span("parent"):
        async with engine.connect() as connection:
            for statement in STATEMENTS:
                try:
                    await connection.execute(text(statement), {"x": 3} if ":x" in statement else None)
                except DBAPIError:
                    await connection.rollback()
    handle.shutdown()
    await engine.dispose()
    return list(exporter.get_finished_spans())


def _shapes(spans: list[ReadableSpan]) -> list[tuple[object, ...]]:
    names = {span.context.span_id: span.name for span in spans}
    return [
        (
            span.name,
            span.kind,
            dict(span.attributes or {}),
            span.status.status_code,
            span.status.description,
            names.get(span.parent.span_id) if span.parent is not None else None,
            span.instrumentation_scope.name if span.instrumentation_scope is not None else None,
        )
        for span in spans
    ]


@pytest.mark.parametrize("blind", [False, True])
async def test_the_lean_spans_are_the_engine_tracers_spans(postgres_url: str, tmp_path: Path, blind: bool) -> None:
    generic = await _spans(postgres_url, tmp_path, generic=True, blind=blind)
    ours = await _spans(postgres_url, tmp_path, generic=False, blind=blind)
    assert _shapes(ours) == _shapes(generic)
    assert len(ours) == len(STATEMENTS) + 1
    assert (ours[0].attributes or {})["db.system"] == "postgresql"
    assert "net.peer.name" in (ours[0].attributes or {})
