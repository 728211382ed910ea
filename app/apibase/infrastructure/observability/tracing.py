"""OpenTelemetry tracing configured from settings, owned by one application rather than by the process.

The global tracer provider can be set only once per process, and several applications live in one test process,
so nothing here touches it: each :class:`TracingHandle` keeps its own provider and hands it explicitly to every
instrumentation, which is applied per object (this app, this engine, this client) instead of by monkey-patching
libraries for everybody. ``shutdown()`` undoes exactly what the handle did and flushes its spans.

Propagation follows W3C Trace Context and W3C Baggage (the ``opentelemetry.propagate`` defaults, the same ones the
HTTP instrumentations use); the correlation id travels beside them in ``X-Correlation-ID``.

Public API: ``configure_tracing(settings, *, exporters=(), processors=()) -> TracingHandle``,
``inject_trace_context(carrier)``, ``extract_trace_context(carrier)``, ``CORRELATION_HEADER``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping, Sequence

import httpx
from fastapi import FastAPI
from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as _sqlalchemy_instrumentation_version
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from apibase.core.context import current_correlation_id
from apibase.core.settings import Settings
from apibase.infrastructure.observability.sampling import LeanParentBasedTraceIdRatio
from apibase.infrastructure.observability.server_spans import (
    instrument_server_spans,
    lean_server_spans_suffice,
    uninstrument_server_spans,
)
from apibase.infrastructure.observability.sql_spans import SqlSpans, lean_sql_spans_suffice

__all__ = [
    "CORRELATION_HEADER",
    "TracingHandle",
    "configure_tracing",
    "extract_trace_context",
    "inject_trace_context",
]

CORRELATION_HEADER = "X-Correlation-ID"
_OTLP_TRACES_PATH = "/v1/traces"

type RedisClient = Redis | AsyncRedis
type HttpxClient = httpx.Client | httpx.AsyncClient


def configure_tracing(
    settings: Settings,
    *,
    exporters: Sequence[SpanExporter] = (),
    processors: Sequence[SpanProcessor] = (),
) -> TracingHandle:
    """A provider for this application: resource and sampler from settings, OTLP/HTTP export when configured.

    ``exporters`` get a ``SimpleSpanProcessor`` each (synchronous, so tests see spans as soon as they end);
    ``processors`` are added as given. With ``tracing_enabled`` off the handle only adds correlation headers.
    """
    observability = settings.observability
    if not observability.tracing_enabled:
        return TracingHandle(None, settings)
    attributes: dict[str, str] = {
        **observability.resource_attributes,
        # Settings own identity: an extra attribute cannot rename the service. Both environment keys are set
        # because backends still differ on the deprecated one.
        "service.name": settings.service_name,
        "service.version": observability.service_version,
        "deployment.environment": settings.environment.value,
        "deployment.environment.name": settings.environment.value,
    }
    provider = TracerProvider(
        resource=Resource.create(attributes),
        sampler=LeanParentBasedTraceIdRatio(observability.trace_sample_ratio),
    )
    if observability.otlp_endpoint is not None:
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=_traces_url(observability.otlp_endpoint)))
        )
    for exporter in exporters:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    for processor in processors:
        provider.add_span_processor(processor)
    # Parent-based, then a trace-id ratio: neither reads a span's attributes, so unsampled requests skip them.
    return TracingHandle(provider, settings, sampler_reads_attributes=False)


def _traces_url(endpoint: str) -> str:
    """The collector's traces URL: the setting is the base URL (``http://otel:4318``), as in OTel's own env var."""
    base = endpoint.rstrip("/")
    return base if base.endswith(_OTLP_TRACES_PATH) else base + _OTLP_TRACES_PATH


class TracingHandle:
    """What one application instrumented, and the provider its spans go to; ``shutdown()`` reverts it all."""

    def __init__(
        self, provider: TracerProvider | None, settings: Settings, *, sampler_reads_attributes: bool = True
    ) -> None:
        """``sampler_reads_attributes=False`` only for a provider whose sampler ignores span attributes."""
        self._provider = provider
        self._sampler_reads_attributes = sampler_reads_attributes
        self._excluded_urls = re.escape(settings.observability.metrics_path) + r"(\?|$)"
        self._apps: list[FastAPI] = []
        self._engines: list[Engine] = []
        self._sql_spans: list[SqlSpans] = []
        self._httpx_clients: list[HttpxClient] = []
        self._redis_clients: list[RedisClient] = []
        self._closed = False

    @property
    def enabled(self) -> bool:
        return self._provider is not None

    @property
    def tracer_provider(self) -> trace.TracerProvider:
        """Pass this to anything that makes spans (e.g. ``TracingBehaviour``); a no-op one when tracing is off."""
        return self._provider if self._provider is not None else trace.NoOpTracerProvider()

    def instrument_app(self, app: FastAPI) -> None:
        """Server spans for every request but metrics scrapes; call before the first request.

        Probes stay traced on purpose: excluding a URL drops only its server span, so the readiness check's SQL
        would turn into orphan root spans. The span comes from ``ServerSpanMiddleware`` (the same span for a
        fraction of the cost) unless a global meter provider or header capture asks for what only
        ``FastAPIInstrumentor`` does (see ``apibase.infrastructure.observability.server_spans``).
        """
        self._check_open()
        if self._provider is None:
            return
        self._apps.append(app)
        if lean_server_spans_suffice():
            instrument_server_spans(
                app,
                tracer_provider=self._provider,
                excluded_urls=self._excluded_urls,
                sampler_reads_attributes=self._sampler_reads_attributes,
            )
            return
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self._provider,
            excluded_urls=self._excluded_urls,
            exclude_spans=["receive", "send"],
        )

    def instrument_engine(self, engine: AsyncEngine | Engine) -> None:
        """A span per SQL statement on this engine only.

        ``SQLAlchemyInstrumentor().instrument()`` is a process-wide singleton that also patches
        ``create_engine`` for everybody, so the instrumentation's per-engine tracer is used directly. The spans come
        from ``SqlSpans`` (the same spans for a fraction of the cost) unless a global meter provider asks for the
        connection usage counter only ``EngineTracer`` keeps (see ``apibase.infrastructure.observability.sql_spans``).
        """
        self._check_open()
        if self._provider is None:
            return
        sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
        tracer = self._provider.get_tracer(EngineTracer.__module__, _sqlalchemy_instrumentation_version)
        if lean_sql_spans_suffice():
            spans = SqlSpans(tracer, sync_engine, sampler_reads_attributes=self._sampler_reads_attributes)
            self._sql_spans.append(spans)
            return
        meter = metrics.get_meter(EngineTracer.__module__, _sqlalchemy_instrumentation_version)
        usage = meter.create_up_down_counter("db.client.connections.usage", unit="connections")
        EngineTracer(tracer, sync_engine, usage)  # type: ignore[no-untyped-call]  # the package is untyped here
        self._engines.append(sync_engine)

    def instrument_redis(self, client: RedisClient) -> None:
        self._check_open()
        if self._provider is None:
            return
        RedisInstrumentor.instrument_client(client, tracer_provider=self._provider)
        self._redis_clients.append(client)

    def instrument_httpx(self, client: HttpxClient) -> None:
        """Client spans plus ``traceparent``/``tracestate``/``baggage`` and ``X-Correlation-ID`` on each request."""
        self._check_open()
        hooks = client.event_hooks["request"]
        hooks.append(_add_correlation_async if isinstance(client, httpx.AsyncClient) else _add_correlation)
        if self._provider is not None:
            HTTPXClientInstrumentor.instrument_client(client, tracer_provider=self._provider)
        self._httpx_clients.append(client)

    def shutdown(self) -> None:
        """Uninstrument what this handle instrumented, then flush and stop its exporters; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for app in self._apps:
            if getattr(app, "_is_instrumented_by_opentelemetry", False):
                FastAPIInstrumentor.uninstrument_app(app)
            else:
                uninstrument_server_spans(app)
        for engine in self._engines:
            _remove_engine_listeners(engine)
        for spans in self._sql_spans:
            spans.remove()
        for redis_client in self._redis_clients:
            RedisInstrumentor.uninstrument_client(redis_client)
        for client in self._httpx_clients:
            _remove_correlation_hook(client)
            if self._provider is not None:
                HTTPXClientInstrumentor.uninstrument_client(client)
        if self._provider is not None:
            self._provider.shutdown()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("tracing was shut down; configure it again for a new application")


def _remove_engine_listeners(engine: Engine) -> None:
    """Detach this engine's ``EngineTracer`` listeners and no other engine's (its own removal is all-or-nothing)."""
    # The instrumentation's own registry of (weakref(engine), event, listener); read to remove one engine's rows.
    registered = EngineTracer._remove_event_listener_params
    for entry in [entry for entry in registered if entry[0]() is engine]:
        _, identifier, listener = entry
        if event.contains(engine, identifier, listener):
            event.remove(engine, identifier, listener)
        registered.remove(entry)


def _correlation_headers(request: httpx.Request) -> None:
    correlation_id = current_correlation_id()
    if correlation_id is not None and CORRELATION_HEADER not in request.headers:
        request.headers[CORRELATION_HEADER] = correlation_id


def _add_correlation(request: httpx.Request) -> None:
    _correlation_headers(request)


async def _add_correlation_async(request: httpx.Request) -> None:
    _correlation_headers(request)


def _remove_correlation_hook(client: HttpxClient) -> None:
    hooks = client.event_hooks["request"]
    for hook in (_add_correlation, _add_correlation_async):
        if hook in hooks:
            hooks.remove(hook)


def inject_trace_context(carrier: MutableMapping[str, str]) -> None:
    """Write the current trace context, baggage and correlation id into message headers (or any str mapping)."""
    propagate.inject(carrier)
    correlation_id = current_correlation_id()
    if correlation_id is not None:
        carrier.setdefault(CORRELATION_HEADER, correlation_id)


def extract_trace_context(carrier: Mapping[str, str]) -> Context:
    """The context a received message was sent in; attach it (``opentelemetry.context.attach``) while handling it.

    Header names are matched case-insensitively, since brokers and proxies do not agree on their case. The
    correlation id is not part of the returned context: read ``CORRELATION_HEADER`` from the carrier.
    """
    return propagate.extract({key.lower(): value for key, value in carrier.items()})
