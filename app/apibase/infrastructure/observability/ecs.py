"""Elastic Common Schema (ECS) for JSON log lines, so OpenSearch/Elasticsearch/Kibana understand them unmapped.

Code everywhere logs with short, flat names (``event``, ``request_id``, ``status``, ``duration_ms``); only the
JSON renderer's last step, :class:`EcsFormatter`, turns them into ECS, and the console keeps the short names.
Mapped fields become nested JSON objects (``{"http": {"request": {"id": ...}}}``), which ECS allows next to
dotted keys and which every ingest pipeline reads without a ``dot_expander``. Unknown keys stay at the top level
as custom fields, except names of the ECS objects written here (``url``, ``user``, ``http``, ...), which go to
``labels``: a string where the index expects an object would get the whole document rejected.

| our key          | ECS field                     | note                                              |
| ---------------- | ----------------------------- | ------------------------------------------------- |
| ``timestamp``    | ``@timestamp``                | ISO 8601, UTC                                     |
| ``level``        | ``log.level``                 | lower case                                        |
| ``logger``       | ``log.logger``                |                                                   |
| ``event``        | ``message``                   |                                                   |
| ``request_id``   | ``http.request.id``           |                                                   |
| ``correlation_id`` | ``labels.correlation_id``   | ECS has no field for it; ``labels`` is its place  |
| ``tenant``       | ``organization.id``           | ECS's field for the entity that owns the data     |
| ``user``         | ``user.id``                   |                                                   |
| ``method``       | ``http.request.method``       |                                                   |
| ``path``         | ``url.path``                  | raw path, never the query string                  |
| ``route``        | ``http.route``                | the template (OpenTelemetry's name; ECS has none) |
| ``status``       | ``http.response.status_code`` |                                                   |
| ``duration_ms``  | ``event.duration``            | nanoseconds, as ECS requires                      |
| ``client_ip``    | ``client.ip``                 |                                                   |
| ``error``        | ``error.type`` / ``error.*``  | a name, or the dict :func:`add_error_fields` made |
| ``trace_id``     | ``trace.id``                  | 32 lower-hex digits, only for a sampled trace     |
| ``span_id``      | ``span.id``                   | 16 lower-hex digits                               |

Plus ``service.name``, ``service.version``, ``service.environment`` and ``ecs.version`` on every line.

Public API: ``EcsFormatter(*, service_name, service_version, environment)``, ``add_trace_context``,
``add_error_fields`` (structlog processors), ``ECS_VERSION``.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Mapping
from typing import Final

from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger

__all__ = ["ECS_VERSION", "EcsFormatter", "add_error_fields", "add_trace_context"]

ECS_VERSION: Final = "8.11.0"


def add_trace_context(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Add ``trace_id`` and ``span_id`` of the current OpenTelemetry span when it is sampled.

    A span that was sampled out (or tracing is off) adds nothing: its ids would point at a trace that does not
    exist in the backend. A sampled span that has just ended still counts: the access log line is written after
    the server span closes with the response, and must carry its trace id.
    """
    context = trace.get_current_span().get_span_context()
    if context.is_valid and context.trace_flags.sampled:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


def add_error_fields(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Turn ``exc_info`` into ``error`` = ``{type, message, stack_trace}`` (ECS's shape, plain text traceback).

    Runs before masking, so a password in an exception message or a traceback line is masked like any other.
    """
    exc_info = event_dict.pop("exc_info", None)
    error = _exception_of(exc_info)
    if error is not None:
        event_dict["error"] = {
            "type": type(error).__qualname__,
            "message": str(error),
            "stack_trace": "".join(traceback.format_exception(error)).rstrip("\n"),
        }
    return event_dict


def _exception_of(exc_info: object) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        return exc_info[1]
    if exc_info is True:
        return sys.exc_info()[1]
    return None


class EcsFormatter:
    """A structlog processor, last before the JSON renderer: our event dict in, an ECS document out.

    Written out key by key rather than driven by a table: this runs for every line, and the straight code is
    three times faster than walking paths.
    """

    __slots__ = ("_service",)

    def __init__(
        self, *, service_name: str, service_version: str | None = None, environment: str | None = None
    ) -> None:
        service = {"name": service_name, "version": service_version, "environment": environment}
        self._service = {key: value for key, value in service.items() if value is not None}

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        pop = event_dict.pop
        document = _head(event_dict, method_name)
        _put_http(document, event_dict)
        _put(document, "url", "path", pop("path", None))
        _put(document, "client", "ip", pop("client_ip", None))
        _put(document, "user", "id", pop("user", None))
        _put(document, "organization", "id", pop("tenant", None))
        _put(document, "labels", "correlation_id", pop("correlation_id", None))
        _put(document, "trace", "id", pop("trace_id", None))
        _put(document, "span", "id", pop("span_id", None))
        duration_ms = pop("duration_ms", None)
        if isinstance(duration_ms, int | float):
            document["event"] = {"duration": round(duration_ms * 1_000_000)}
        error = pop("error", None)
        if isinstance(error, Mapping):
            document["error"] = dict(error)
        elif error is not None:
            document["error"] = {"type": str(error)}
        if event_dict:
            _put_custom(document, event_dict)
        document["service"] = dict(self._service)
        document["ecs"] = {"version": ECS_VERSION}
        return document


def _head(event_dict: EventDict, method_name: str) -> dict[str, object]:
    """``@timestamp``, ``log`` and ``message``, popped from ``event_dict`` (they lead every line, for humans)."""
    pop = event_dict.pop
    document: dict[str, object] = {}
    timestamp = pop("timestamp", None)
    if timestamp is not None:
        document["@timestamp"] = timestamp
    log: dict[str, object] = {"level": str(pop("level", method_name)).lower()}
    logger_name = pop("logger", None)
    if logger_name is not None:
        log["logger"] = logger_name
    document["log"] = log
    message = pop("event", None)
    document["message"] = message if isinstance(message, str) or message is None else str(message)
    return document


def _put_http(document: dict[str, object], event_dict: EventDict) -> None:
    pop = event_dict.pop
    http: dict[str, object] = {}
    request: dict[str, object] = {}
    _put(request, "id", None, pop("request_id", None))
    _put(request, "method", None, pop("method", None))
    if request:
        http["request"] = request
    _put(http, "route", None, pop("route", None))
    _put(http, "response", "status_code", pop("status", None))
    if http:
        document["http"] = http


def _put(node: dict[str, object], key: str, leaf: str | None, value: object) -> None:
    """``node[key] = value``, or ``node[key] = {leaf: value}``; nothing for ``None`` (ECS omits absent fields)."""
    if value is not None:
        node[key] = value if leaf is None else {leaf: value}


def _put_custom(document: dict[str, object], custom: EventDict) -> None:
    """Other keys stay at the top level; those named like an ECS object written here go under ``labels``."""
    labels: dict[str, object] = {}
    for key, value in custom.items():
        if key in _RESERVED:
            labels[key] = value
        else:
            document[key] = value
    if labels:
        ours = document.get("labels")
        document["labels"] = {**labels, **ours} if isinstance(ours, dict) else labels


#: Top-level names this formatter writes: a custom field with one of these names would change the field's type in
#: the index (and the document would be rejected), so it goes under ``labels`` instead.
_RESERVED: Final = frozenset(
    {
        "@timestamp",
        "message",
        "log",
        "http",
        "url",
        "client",
        "user",
        "organization",
        "labels",
        "trace",
        "span",
        "event",
        "error",
        "service",
        "ecs",
    }
)
