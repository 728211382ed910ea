"""configure_tracing: provider from settings, span trees of real requests, W3C propagation both ways, shutdown."""

import logging
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis.asyncio
from fastapi import APIRouter, FastAPI, Request
from opentelemetry import baggage, context, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanKind, StatusCode
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.application.cqrs.unit_of_work import current_unit_of_work
from apibase.core.context import correlation_id
from apibase.core.errors import AnyAppError, NotFoundError
from apibase.core.result import Ok, Result
from apibase.core.settings import Environment, Settings
from apibase.domain.identity.permissions import Permission
from apibase.infrastructure.observability.tracing import (
    CORRELATION_HEADER,
    TracingHandle,
    configure_tracing,
    extract_trace_context,
    inject_trace_context,
)
from apibase.infrastructure.persistence.database import create_engine
from apibase.infrastructure.persistence.sql_unit_of_work import require_sql_unit_of_work
from apibase.interface.http.responses import unwrap
from apibase.interface.http.security.authorization import require
from apibase.kernel import Kernel
from apibase.main import create_app
from apibase.module import ALL_VERSIONS, Features, Migrations
from apibase.testing.service import service_settings, sign_up
from apibase.testing.sql import WidgetSqlRepository, widget_metadata
from apibase.testing.widgets import Widget, WidgetCreate, new_widget

pytestmark = pytest.mark.unit

WIDGET = {"name": "Gear", "price": "9.99", "quantity": 5}
READ, WRITE = Permission("widgets:read"), Permission("widgets:write")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


class Capture:
    """A ``MockTransport`` handler that keeps the headers of every request it answers."""

    def __init__(self) -> None:
        self.headers: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers)
        return httpx.Response(204)


def sampled_parent(flags: str = "01") -> dict[str, str]:
    return {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-{flags}"}


def sdk_provider(handle: TracingHandle) -> TracerProvider:
    provider = handle.tracer_provider
    assert isinstance(provider, TracerProvider)
    return provider


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [span for span in spans if span.parent is not None and span.parent.span_id == parent.context.span_id]


def descendants(spans: Sequence[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    found = children(spans, root)
    return found + [deeper for child in found for deeper in descendants(spans, child)]


def sql_spans(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is SpanKind.CLIENT and "db.statement" in (span.attributes or {})]


def statements(spans: Sequence[ReadableSpan]) -> list[str]:
    return [str((span.attributes or {})["db.statement"]) for span in sql_spans(spans)]


class AddWidget(BaseCommand[Widget]):
    data: WidgetCreate


class GetWidget(BaseQuery[Widget]):
    widget_id: uuid.UUID


@dataclass(frozen=True)
class Widgets:
    """A module as a service has them: a command and a query on the kernel's buses, over the sample widget table."""

    name: str = "widgets"
    migrations: Migrations | None = None

    @property
    def permissions(self) -> Mapping[Permission, str]:
        return {READ: "Read widgets", WRITE: "Add widgets"}

    def build(self, kernel: Kernel) -> Features:
        def widgets() -> WidgetSqlRepository:
            return WidgetSqlRepository(
                require_sql_unit_of_work(current_unit_of_work()), cursor_codec=kernel.cursor_codec
            )

        @kernel.commands.handler
        async def add(command: AddWidget) -> Result[Widget, AnyAppError]:
            return Ok(await widgets().add(new_widget(command.data)))

        @kernel.queries.handler
        async def get(query: GetWidget) -> Result[Widget, AnyAppError]:
            found = await widgets().get_by_id(query.widget_id)
            if found is None:
                raise NotFoundError(f"widget {query.widget_id} does not exist")
            return Ok(found)

        router = APIRouter()

        @router.post("/widgets", status_code=201, dependencies=[require(WRITE)])
        async def create(body: WidgetCreate) -> dict[str, object]:
            return {"data": unwrap(await kernel.commands.dispatch(AddWidget(data=body))).model_dump(mode="json")}

        @router.get("/widgets/{widget_id}", dependencies=[require(READ)])
        async def read(widget_id: uuid.UUID) -> dict[str, object]:
            return {"data": unwrap(await kernel.queries.ask(GetWidget(widget_id=widget_id))).model_dump(mode="json")}

        return Features(routers={ALL_VERSIONS: [router]})


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return service_settings(tmp_path / "service.db")


@pytest.fixture
def handle(settings: Settings, exporter: InMemorySpanExporter) -> Iterator[TracingHandle]:
    tracing = configure_tracing(settings, exporters=[exporter])
    yield tracing
    tracing.shutdown()


@pytest.fixture
async def service(settings: Settings, handle: TracingHandle) -> AsyncIterator[httpx.AsyncClient]:
    """A service with the widgets module as ``create_app`` wires it, spans going to the test's exporter, with a
    signed-in admin."""
    engine = create_engine(settings)  # the sample table, next to the ones the service migrates at start
    async with engine.begin() as connection:
        await connection.run_sync(widget_metadata.create_all)
    await engine.dispose()
    app = create_app(settings, modules=[Widgets()], tracing=handle)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        http.headers.update(await sign_up(http, version="v1"))
        yield http


async def create_widget(client: httpx.AsyncClient) -> str:
    created = await client.post("/api/v1/widgets", json=WIDGET)
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


def only_server_span(spans: Sequence[ReadableSpan]) -> ReadableSpan:
    [server] = [span for span in spans if span.kind is SpanKind.SERVER]
    assert server.parent is None
    assert {span.context.trace_id for span in spans} == {server.context.trace_id}
    return server


class TraceIdsOfLogs(logging.Handler):
    """Records the trace id that was current when each log line was written, as a log correlator would."""

    def __init__(self) -> None:
        super().__init__()
        self.trace_ids: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.trace_ids.append(trace.get_current_span().get_span_context().trace_id)


@pytest.fixture
def bus_logs() -> Iterator[TraceIdsOfLogs]:
    logger = logging.getLogger("apibase.application.cqrs.behaviours")
    handler, level = TraceIdsOfLogs(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


# --- the provider from settings ---


def test_resource_and_sampler_come_from_settings(tmp_path: Path) -> None:
    settings = service_settings(
        tmp_path / "x.db",
        service_name="orders",
        environment=Environment.STAGING,
        observability={
            "service_version": "1.2.3",
            "trace_sample_ratio": 0.25,
            "resource_attributes": {"team": "core", "service.name": "not-this"},
        },
    )
    handle = configure_tracing(settings)
    try:
        provider = sdk_provider(handle)
        attributes = provider.resource.attributes
        assert attributes["service.name"] == "orders"
        assert attributes["service.version"] == "1.2.3"
        assert attributes["deployment.environment"] == "staging"
        assert attributes["deployment.environment.name"] == "staging"
        assert attributes["team"] == "core"
        assert isinstance(provider.sampler, ParentBased)
        assert "root:TraceIdRatioBased{0.25}" in provider.sampler.get_description()  # type: ignore[no-untyped-call]
    finally:
        handle.shutdown()


def processors_of(handle: TracingHandle) -> tuple[object, ...]:
    # The SDK has no public accessor for a provider's processors.
    return tuple(sdk_provider(handle)._active_span_processor._span_processors)


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
        ("http://c:4318/v1/traces/", "http://c:4318/v1/traces"),
    ],
)
def test_an_otlp_endpoint_adds_a_batching_otlp_http_exporter(tmp_path: Path, endpoint: str, url: str) -> None:
    handle = configure_tracing(service_settings(tmp_path / "x.db", observability={"otlp_endpoint": endpoint}))
    try:
        [processor] = processors_of(handle)
        assert isinstance(processor, BatchSpanProcessor)
        assert isinstance(processor.span_exporter, OTLPSpanExporter)
        assert processor.span_exporter._endpoint == url
    finally:
        handle.shutdown()


def test_without_an_endpoint_only_the_given_exporters_receive_spans(
    handle: TracingHandle, exporter: InMemorySpanExporter
) -> None:
    assert not any(isinstance(processor, BatchSpanProcessor) for processor in processors_of(handle))
    with handle.tracer_provider.get_tracer("t").start_as_current_span("work"):
        pass
    assert [span.name for span in exporter.get_finished_spans()] == ["work"]


async def test_disabled_tracing_records_nothing_but_still_sends_the_correlation_id(tmp_path: Path) -> None:
    handle = configure_tracing(service_settings(tmp_path / "x.db", observability={"tracing_enabled": False}))
    seen = Capture()
    client = httpx.AsyncClient(transport=httpx.MockTransport(seen))
    app = small_app()
    handle.instrument_app(app)
    handle.instrument_httpx(client)
    token = correlation_id.set("corr-off")
    try:
        with handle.tracer_provider.get_tracer("t").start_as_current_span("work") as span:
            assert not span.is_recording()
        await client.get("http://peer/")
    finally:
        correlation_id.reset(token)
        await client.aclose()
        handle.shutdown()
    assert not handle.enabled
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
    assert seen.headers[0][CORRELATION_HEADER] == "corr-off"
    assert "traceparent" not in seen.headers[0]


# --- span trees of real requests on a service with a module ---


async def test_a_read_is_one_trace_from_the_server_span_down_to_sql(
    service: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    widget_id = await create_widget(service)
    exporter.clear()

    response = await service.get(f"/api/v1/widgets/{widget_id}")

    assert response.status_code == 200, response.text
    spans = exporter.get_finished_spans()
    server = only_server_span(spans)
    assert server.name.startswith("GET /api/v1")
    assert (server.attributes or {})["http.status_code"] == 200
    below = descendants(spans, server)
    assert len(below) == len(spans) - 1
    assert any("FROM contract_widgets" in statement for statement in statements(below))


async def test_a_command_nests_sql_inside_the_command_span_inside_the_request(
    service: httpx.AsyncClient, exporter: InMemorySpanExporter, bus_logs: TraceIdsOfLogs
) -> None:
    exporter.clear()
    bus_logs.trace_ids.clear()

    response = await service.post("/api/v1/widgets", json=WIDGET)

    assert response.status_code == 201, response.text
    spans = exporter.get_finished_spans()
    server = only_server_span(spans)
    [command] = [span for span in spans if span.name == "command AddWidget"]
    assert command in descendants(spans, server)
    assert command.status.status_code is StatusCode.UNSET
    assert (command.attributes or {})["apibase.outcome"] == "ok"
    inside = statements(descendants(spans, command))
    assert any(statement.startswith("INSERT INTO contract_widgets") for statement in inside)
    assert bus_logs.trace_ids
    assert set(bus_logs.trace_ids) == {server.context.trace_id}


async def test_a_missing_entity_is_an_error_span_without_an_exception(
    service: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()

    response = await service.get(f"/api/v1/widgets/{uuid.uuid4()}")

    assert response.status_code == 404, response.text
    spans = exporter.get_finished_spans()
    server = only_server_span(spans)
    [query] = [span for span in spans if span.name == "query GetWidget"]
    assert query in descendants(spans, server)
    assert query.status.status_code is StatusCode.ERROR
    assert (query.attributes or {})["apibase.error.code"] == response.json()["code"]
    assert query.events == ()
    assert sql_spans(descendants(spans, query))


async def test_an_incoming_traceparent_makes_the_request_a_child_of_the_caller(
    service: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    widget_id = await create_widget(service)
    exporter.clear()

    await service.get(f"/api/v1/widgets/{widget_id}", headers=sampled_parent())

    spans = exporter.get_finished_spans()
    [server] = [span for span in spans if span.kind is SpanKind.SERVER]
    assert server.parent is not None
    assert server.parent.is_remote
    assert trace.format_span_id(server.parent.span_id) == PARENT_ID
    assert {trace.format_trace_id(span.context.trace_id) for span in spans} == {TRACE_ID}


async def test_metrics_scrapes_are_not_traced(handle: TracingHandle, exporter: InMemorySpanExporter) -> None:
    app = FastAPI()
    app.add_api_route("/metrics", lambda: {"scraped": True})
    app.add_api_route("/metrics-report", lambda: {"scraped": False})
    handle.instrument_app(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        await http.get("/metrics")
        await http.get("/metrics?format=openmetrics")
        await http.get("/metrics-report")
    assert [span.name for span in exporter.get_finished_spans()] == ["GET /metrics-report"]


# --- propagation on a small app: incoming baggage, outgoing httpx, messages ---


def small_app(peer: httpx.AsyncClient | None = None) -> FastAPI:
    """``/echo`` shows what arrived; ``/call`` sets a correlation id and calls ``peer``'s ``/echo``."""
    app = FastAPI()

    @app.get("/echo")
    async def echo(request: Request) -> dict[str, object]:
        carrier: dict[str, str] = {}
        inject_trace_context(carrier)
        return {
            "baggage": dict(baggage.get_all()),
            "correlation": request.headers.get(CORRELATION_HEADER),
            "outgoing": carrier,
        }

    @app.get("/call")
    async def call() -> dict[str, object]:
        assert peer is not None
        token = correlation_id.set("corr-42")
        try:
            result: dict[str, object] = (await peer.get("http://peer/echo")).json()
            return result
        finally:
            correlation_id.reset(token)

    return app


@pytest.fixture
async def small(handle: TracingHandle) -> AsyncIterator[httpx.AsyncClient]:
    app = small_app()
    handle.instrument_app(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


async def test_incoming_baggage_is_readable_in_the_handler(small: httpx.AsyncClient) -> None:
    response = await small.get("/echo", headers={**sampled_parent(), "baggage": "tier=gold,region=eu"})
    assert response.json()["baggage"] == {"tier": "gold", "region": "eu"}


async def test_a_service_hop_carries_trace_baggage_and_correlation_id(tmp_path: Path) -> None:
    """Two apps with two handles in one process: each handle's spans stay with its own exporter."""
    exported_a, exported_b = InMemorySpanExporter(), InMemorySpanExporter()
    tracing_a = configure_tracing(service_settings(tmp_path / "a.db", service_name="a"), exporters=[exported_a])
    tracing_b = configure_tracing(service_settings(tmp_path / "b.db", service_name="b"), exporters=[exported_b])
    service_b = small_app()
    tracing_b.instrument_app(service_b)
    peer = httpx.AsyncClient(transport=httpx.ASGITransport(app=service_b))
    tracing_a.instrument_httpx(peer)
    service_a = small_app(peer)
    tracing_a.instrument_app(service_a)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service_a), base_url="http://a") as http:
            response = await http.get("/call", headers={**sampled_parent(), "baggage": "tier=gold"})
    finally:
        await peer.aclose()
        tracing_a.shutdown()
        tracing_b.shutdown()

    assert response.json()["baggage"] == {"tier": "gold"}
    assert response.json()["correlation"] == "corr-42"
    [client_span] = [span for span in exported_a.get_finished_spans() if span.kind is SpanKind.CLIENT]
    [server_b] = exported_b.get_finished_spans()
    assert server_b.resource.attributes["service.name"] == "b"
    assert server_b.parent is not None
    assert server_b.parent.span_id == client_span.context.span_id
    assert trace.format_trace_id(server_b.context.trace_id) == TRACE_ID


def test_an_explicit_correlation_header_is_not_overwritten(handle: TracingHandle) -> None:
    seen = Capture()
    client = httpx.Client(transport=httpx.MockTransport(seen))
    handle.instrument_httpx(client)
    token = correlation_id.set("from-context")
    try:
        client.get("http://peer/", headers={CORRELATION_HEADER: "explicit"})
        client.get("http://peer/")
    finally:
        correlation_id.reset(token)
        client.close()
    assert [headers[CORRELATION_HEADER] for headers in seen.headers] == ["explicit", "from-context"]
    assert all("traceparent" in headers for headers in seen.headers)


def test_message_headers_round_trip_the_trace_baggage_and_correlation_id(
    handle: TracingHandle, exporter: InMemorySpanExporter
) -> None:
    tracer = handle.tracer_provider.get_tracer("t")
    headers: dict[str, str] = {}
    attached = context.attach(baggage.set_baggage("tier", "gold"))
    token = correlation_id.set("corr-7")
    try:
        with tracer.start_as_current_span("publish") as publish:
            inject_trace_context(headers)
    finally:
        correlation_id.reset(token)
        context.detach(attached)

    received = extract_trace_context({key.upper(): value for key, value in headers.items()})
    with tracer.start_as_current_span("consume", context=received):
        assert baggage.get_baggage("tier") is None
    [_, consume] = exporter.get_finished_spans()
    assert consume.parent is not None
    assert consume.parent.span_id == publish.get_span_context().span_id
    assert baggage.get_baggage("tier", received) == "gold"
    assert headers[CORRELATION_HEADER] == "corr-7"


def test_outside_a_trace_message_headers_carry_nothing() -> None:
    headers: dict[str, str] = {}
    inject_trace_context(headers)
    assert headers == {}
    assert not trace.get_current_span(extract_trace_context(headers)).get_span_context().is_valid


# --- sampling ---


@pytest.fixture
async def unsampled(tmp_path: Path, exporter: InMemorySpanExporter) -> AsyncIterator[httpx.AsyncClient]:
    settings = service_settings(tmp_path / "x.db", observability={"trace_sample_ratio": 0.0})
    tracing = configure_tracing(settings, exporters=[exporter])
    app = small_app()
    tracing.instrument_app(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http
    tracing.shutdown()


async def test_ratio_zero_records_nothing_but_still_propagates(
    unsampled: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    response = await unsampled.get("/echo")

    assert exporter.get_finished_spans() == ()
    version, trace_id, span_id, flags = response.json()["outgoing"]["traceparent"].split("-")
    assert version == "00"
    assert int(flags, 16) & 0x01 == 0, "not sampled"
    assert int(trace_id, 16) != 0
    assert int(span_id, 16) != 0


async def test_ratio_zero_still_follows_a_sampled_parent(
    unsampled: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    await unsampled.get("/echo", headers=sampled_parent())
    assert [trace.format_trace_id(span.context.trace_id) for span in exporter.get_finished_spans()] == [TRACE_ID]


# --- instrumenting and shutting down ---


class Recorder(SpanProcessor):
    """Keeps span names even after shutdown, so instrumentation left behind by a handle would show here."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.names.append(span.name)


class NoContent(httpx.AsyncBaseTransport):
    """Async-only, like httpx's real transport (``MockTransport`` is both, which confuses ``uninstrument_client``)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(204, request=request)


async def test_shutdown_uninstruments_everything_and_is_idempotent(settings: Settings) -> None:
    recorder = Recorder()
    handle = configure_tracing(settings, processors=[recorder])
    app = create_app(settings, tracing=handle)
    peer = httpx.AsyncClient(transport=NoContent())
    handle.instrument_httpx(peer)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        await http.get("/health/ready")
        await peer.get("http://peer/")
        assert {name.split()[0] for name in recorder.names} >= {"SELECT", "GET"}, "SQL, server and client spans"
        assert "GET /health/ready" in recorder.names
        handle.shutdown()
        handle.shutdown()
        recorder.names.clear()

        token = correlation_id.set("corr-after")
        try:
            await http.get("/health/ready")
            sent = await peer.get("http://peer/")
        finally:
            correlation_id.reset(token)
    await peer.aclose()

    assert recorder.names == []
    assert CORRELATION_HEADER not in sent.request.headers
    assert "traceparent" not in sent.request.headers
    with pytest.raises(RuntimeError, match="shut down"):
        handle.instrument_app(app)


async def test_redis_commands_are_client_spans(handle: TracingHandle, exporter: InMemorySpanExporter) -> None:
    """No server needed: the span is opened before the connection is tried, and records its failure."""
    client = redis.asyncio.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    handle.instrument_redis(client)
    try:
        with pytest.raises(redis.ConnectionError):
            await client.get("k")
    finally:
        await client.aclose()
    [span] = exporter.get_finished_spans()
    assert span.kind is SpanKind.CLIENT
    assert span.name == "GET"
    assert span.status.status_code is StatusCode.ERROR
