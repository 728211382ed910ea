"""TracingBehaviour: one span per command or query, named by kind and type, with the outcome and no field values."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from apibase.application.cqrs.bus import CommandBus, QueryBus
from apibase.application.cqrs.handlers import CommandHandler, QueryHandler
from apibase.application.cqrs.messages import BaseCommand, BaseQuery
from apibase.core.errors import AnyAppError, EntityNotFound
from apibase.core.result import Err, Ok, Result
from apibase.infrastructure.observability.cqrs_tracing import TracingBehaviour

pytestmark = pytest.mark.unit

SECRET = "s3cret-card-number"


class Rename(BaseCommand[str]):
    name: str


class FindThing(BaseQuery[str]):
    thing_id: str


class Explode(BaseCommand[str]):
    pass


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


class RenameHandler(CommandHandler[Rename, str]):
    """Notes the span it ran in, to show that the handler's work happens inside the behaviour's span."""

    def __init__(self) -> None:
        self.span_ids: list[int] = []

    async def handle(self, command: Rename) -> Result[str, AnyAppError]:
        self.span_ids.append(trace.get_current_span().get_span_context().span_id)
        return Ok(command.name)


class FindThingHandler(QueryHandler[FindThing, str]):
    async def handle(self, query: FindThing) -> Result[str, AnyAppError]:
        return Err(EntityNotFound(f"thing {query.thing_id} not found"))


class ExplodeHandler(CommandHandler[Explode, str]):
    async def handle(self, command: Explode) -> Result[str, AnyAppError]:
        raise RuntimeError("boom")


@pytest.fixture
def rename() -> RenameHandler:
    return RenameHandler()


@pytest.fixture
def commands(provider: TracerProvider, rename: RenameHandler) -> CommandBus:
    bus = CommandBus([TracingBehaviour(provider)])
    bus.register(rename)
    bus.register(ExplodeHandler())
    return bus


@pytest.fixture
def queries(provider: TracerProvider) -> QueryBus:
    bus = QueryBus([TracingBehaviour(provider)])
    bus.register(FindThingHandler())
    return bus


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    [span] = exporter.get_finished_spans()
    return span


async def test_an_ok_command_is_an_internal_span_with_its_ids_and_no_field_values(
    commands: CommandBus, exporter: InMemorySpanExporter
) -> None:
    command = Rename(name=SECRET, correlation_id="corr-1", user_id="alice")

    assert await commands.dispatch(command) == Ok(SECRET)

    span = only_span(exporter)
    assert span.name == "command Rename"
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "apibase.message.type": "Rename",
        "apibase.message.kind": "command",
        "apibase.command_id": str(command.command_id),
        "apibase.correlation_id": "corr-1",
        "apibase.user_id": "alice",
        "apibase.outcome": "ok",
    }
    assert SECRET not in repr(span.to_json())


async def test_an_err_query_is_an_error_span_with_the_code_and_no_exception_event(
    queries: QueryBus, exporter: InMemorySpanExporter
) -> None:
    result = await queries.ask(FindThing(thing_id=str(uuid.uuid4())))

    assert isinstance(result, Err)
    span = only_span(exporter)
    assert span.name == "query FindThing"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == result.error.code.value
    attributes = span.attributes or {}
    assert attributes["apibase.message.kind"] == "query"
    assert attributes["apibase.outcome"] == "err"
    assert attributes["apibase.error.code"] == result.error.code.value
    assert span.events == ()


async def test_an_exception_is_recorded_and_re_raised(commands: CommandBus, exporter: InMemorySpanExporter) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        await commands.dispatch(Explode())

    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["apibase.outcome"] == "exception"
    assert [event.name for event in span.events] == ["exception"]


async def test_the_span_is_a_child_of_the_current_one_and_the_handler_runs_inside_it(
    commands: CommandBus, provider: TracerProvider, exporter: InMemorySpanExporter, rename: RenameHandler
) -> None:
    with provider.get_tracer("t").start_as_current_span("POST /orders") as request:
        await commands.dispatch(Rename(name="x"))

    command, _ = exporter.get_finished_spans()
    assert command.parent is not None
    assert command.parent.span_id == request.get_span_context().span_id
    assert rename.span_ids == [command.context.span_id]


async def test_with_a_no_op_provider_results_pass_through_untouched() -> None:
    bus = CommandBus([TracingBehaviour(trace.NoOpTracerProvider())])
    bus.register(RenameHandler())
    assert await bus.dispatch(Rename(name="x")) == Ok("x")
