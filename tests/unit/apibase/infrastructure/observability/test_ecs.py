"""ECS mapping: exact document shapes, trace ids from the current span, exceptions as ``error.*``."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from apibase.infrastructure.observability.ecs import ECS_VERSION, EcsFormatter, add_error_fields, add_trace_context
from apibase.infrastructure.observability.logging import configure_logging

pytestmark = pytest.mark.unit

ECS = EcsFormatter(service_name="shop", service_version="1.2.3", environment="production")
SERVICE = {"name": "shop", "version": "1.2.3", "environment": "production"}
ACCESS = {
    "timestamp": "2026-01-02T03:04:05.678901Z",
    "level": "info",
    "logger": "apibase.access",
    "event": "request",
    "method": "GET",
    "route": "/api/v1/products/{product_id}",
    "path": "/api/v1/products/42",
    "status": 200,
    "duration_ms": 12.345,
    "request_id": "rid-1",
    "correlation_id": "flow-1",
    "client_ip": "127.0.0.1",
    "user": "alice",
    "tenant": "acme",
    "trace_id": "0af7651916cd43dd8448eb211c80319c",
    "span_id": "b7ad6b7169203331",
}


@pytest.fixture
def tracer() -> Iterator[trace.Tracer]:
    """A tracer of a local provider: the process-wide provider is never touched."""
    provider = TracerProvider()
    yield provider.get_tracer("test")
    provider.shutdown()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def test_an_access_line_becomes_nested_ecs_objects() -> None:
    assert ECS(None, "info", dict(ACCESS)) == {
        "@timestamp": "2026-01-02T03:04:05.678901Z",
        "log": {"level": "info", "logger": "apibase.access"},
        "message": "request",
        "http": {
            "request": {"id": "rid-1", "method": "GET"},
            "route": "/api/v1/products/{product_id}",
            "response": {"status_code": 200},
        },
        "url": {"path": "/api/v1/products/42"},
        "client": {"ip": "127.0.0.1"},
        "user": {"id": "alice"},
        "organization": {"id": "acme"},
        "labels": {"correlation_id": "flow-1"},
        "trace": {"id": "0af7651916cd43dd8448eb211c80319c"},
        "span": {"id": "b7ad6b7169203331"},
        "event": {"duration": 12_345_000},
        "service": SERVICE,
        "ecs": {"version": ECS_VERSION},
    }


def test_absent_values_are_omitted_and_custom_fields_stay_at_the_top() -> None:
    document = ECS(None, "warning", {"event": "x", "route": None, "user": None, "rows": 3, "db.system": "sqlite"})
    assert document == {
        "log": {"level": "warning"},
        "message": "x",
        "rows": 3,
        "db.system": "sqlite",
        "service": SERVICE,
        "ecs": {"version": ECS_VERSION},
    }


def test_custom_fields_named_like_ecs_objects_go_under_labels() -> None:
    document = ECS(None, "info", {"event": "call", "url": "https://peer/x", "correlation_id": "c", "labels": "l"})
    assert document["labels"] == {"url": "https://peer/x", "labels": "l", "correlation_id": "c"}
    assert "url" not in document
    ours_win = ECS(None, "info", {"event": "x", "correlation_id": "ours", "labels": {"correlation_id": "theirs"}})
    assert ours_win["labels"]["correlation_id"] == "ours"


def test_errors_map_to_error_fields_and_messages_become_text() -> None:
    named = ECS(None, "error", {"event": 42, "error": "ZeroDivisionError"})
    assert (named["message"], named["error"]) == ("42", {"type": "ZeroDivisionError"})
    structured = ECS(None, "error", {"event": "x", "error": {"type": "E", "message": "m"}})
    assert structured["error"] == {"type": "E", "message": "m"}


def test_add_error_fields_accepts_every_exc_info_form() -> None:
    error = KeyError("k")
    try:
        raise error
    except KeyError:
        from_true = add_error_fields(None, "error", {"exc_info": True})
        from_tuple = add_error_fields(None, "error", {"exc_info": sys.exc_info()})
    from_instance = add_error_fields(None, "error", {"exc_info": error})
    for event_dict in (from_true, from_tuple, from_instance):
        assert event_dict["error"]["type"] == "KeyError"
        assert event_dict["error"]["message"] == "'k'"
        assert event_dict["error"]["stack_trace"].endswith("KeyError: 'k'")
        assert "exc_info" not in event_dict
    assert add_error_fields(None, "info", {"exc_info": False}) == {}
    assert add_error_fields(None, "info", {"exc_info": True}) == {}  # no exception being handled


def test_trace_and_span_ids_come_from_the_recording_span(tracer: trace.Tracer) -> None:
    assert add_trace_context(None, "info", {}) == {}
    with tracer.start_as_current_span("work") as span:
        context = span.get_span_context()
        event_dict = add_trace_context(None, "info", {})
    assert event_dict == {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
    assert len(event_dict["trace_id"]) == 32
    assert len(event_dict["span_id"]) == 16


def test_a_sampled_out_span_adds_nothing() -> None:
    sampled_out = NonRecordingSpan(SpanContext(1, 2, is_remote=False, trace_flags=TraceFlags(0)))
    with trace.use_span(sampled_out):
        assert add_trace_context(None, "info", {}) == {}


def test_a_sampled_span_that_has_ended_still_names_its_trace(tracer: trace.Tracer) -> None:
    """The access log is written after the server span has ended with the response."""
    span = tracer.start_span("request")
    span.end()
    with trace.use_span(span):
        event_dict = add_trace_context(None, "info", {})
    assert event_dict["trace_id"] == f"{span.get_span_context().trace_id:032x}"


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_inside_a_span_carry_trace_and_span_ids(
    tracer: trace.Tracer, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json=True, level="INFO")
    span = tracer.start_span("request")
    with trace.use_span(span, end_on_exit=True):
        structlog.stdlib.get_logger("t").info("structlog line")
        logging.getLogger("t").info("stdlib line")
    structlog.stdlib.get_logger("t").info("after")
    lines: list[dict[str, Any]] = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    context = span.get_span_context()
    for line in lines[:2]:
        assert line["trace"] == {"id": f"{context.trace_id:032x}"}
        assert line["span"] == {"id": f"{context.span_id:016x}"}
    assert not {"trace", "span"} & set(lines[2])
