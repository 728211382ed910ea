"""One OpenTelemetry client span per SQL statement, without the SQLAlchemy instrumentation's per-statement work.

The instrumentation's ``EngineTracer`` recomputes on every statement what only depends on the engine's URL and the
statement text: the connection attributes from the URL, the operation name (a regular expression and a split of the
whole statement), a fresh attribute dict, then each attribute set on the span one by one (a lock and a validation
each), inside a ``use_span`` that only its SQL commenter needs. It also counts pool checkouts and checkins into
``db.client.connections.usage``, an instrument that records nothing unless a global meter provider is installed.

``SqlSpans`` makes the same span: the same instrumentation scope, name (the statement's first word, then the
database name), kind ``CLIENT``, parent (the current span), attributes (the instrumentation's own semantic-convention
helpers, in its order), error status from ``handle_error``, and the span ends after the cursor executes. The name and
attributes are computed once per statement text and database name (a bounded cache), and handed to ``start_span``
when the sampler is known not to read them (``configure_tracing``'s own), or set in one call on a recording span.
Under a sampler that drops the children of an unsampled parent (``configure_tracing``'s), a statement run in an
unsampled request makes no span object at all: the span it would make is never recorded.
Connection attributes that the instrumentation reads from a PostgreSQL cursor (a URL without a host) are read again
for each statement, as it does.

``lean_sql_spans_suffice()`` says when it may be used: when no global meter provider is installed (the pool usage
counter would record nothing). Otherwise the caller keeps ``EngineTracer``.

Public API: ``lean_sql_spans_suffice() -> bool``, ``SqlSpans(tracer, engine, *, sampler_reads_attributes)`` with
``remove()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from opentelemetry import trace
from opentelemetry.instrumentation._semconv import (
    _OpenTelemetrySemanticConventionStability,
    _OpenTelemetryStabilitySignalType,
    _set_db_operation,
    _set_db_statement,
    _set_db_system,
    _StabilityMode,
)
from opentelemetry.instrumentation.sqlalchemy import engine as instrumentation
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine

from apibase.infrastructure.observability.sampling import drops_children_of_unsampled
from apibase.infrastructure.observability.server_spans import no_global_meter_provider

__all__ = ["SqlSpans", "lean_sql_spans_suffice"]

type _Attributes = dict[str, AttributeValue]

#: Bounds the per-statement cache when an application builds SQL text dynamically: past it, spans are computed.
_KNOWN_STATEMENTS_LIMIT: Final = 4096
_LEADING_COMMENT: Final = re.compile(r"^/\*.*?\*/")

# The instrumentation's own helpers, typed here (the package ships without annotations).
_normalize_vendor: Callable[[str], str] = instrumentation._normalize_vendor
_db_name_of: Callable[[str, Connection, object], str | None] = instrumentation._get_db_name_from_cursor_or_conn
_url_attributes: Callable[[URL, _StabilityMode, _StabilityMode], tuple[_Attributes, bool]] = (
    instrumentation._get_attributes_from_url
)
_cursor_attributes: Callable[[str, Connection, object, _Attributes, _StabilityMode, _StabilityMode], _Attributes] = (
    instrumentation._get_attributes_from_cursor_or_conn
)
_after_cursor_execute: Callable[..., None] = instrumentation._after_cur_exec
_handle_error: Callable[..., None] = instrumentation._handle_error
_initialize_semconv: Callable[[], None] = _OpenTelemetrySemanticConventionStability._initialize


def lean_sql_spans_suffice() -> bool:
    """True when ``EngineTracer``'s connection usage counter would record nothing (no global meter provider)."""
    return no_global_meter_provider()


def _mode(signal: _OpenTelemetryStabilitySignalType) -> _StabilityMode:
    _initialize_semconv()
    return _OpenTelemetrySemanticConventionStability._get_opentelemetry_stability_opt_in_mode(signal)


class SqlSpans:
    """The span listeners of one engine (see the module docstring); ``remove()`` detaches them."""

    def __init__(self, tracer: trace.Tracer, engine: Engine, *, sampler_reads_attributes: bool = True) -> None:
        """``sampler_reads_attributes=False``: the attributes go to ``start_span`` (the sampler sees them); say so
        only for a sampler that ignores them and keeps them unchanged, as ``EngineTracer`` gives it none."""
        self._tracer = tracer
        self._engine = engine
        self._vendor = _normalize_vendor(engine.name)
        self._db_mode = _mode(_OpenTelemetryStabilitySignalType.DATABASE)
        self._http_mode = _mode(_OpenTelemetryStabilitySignalType.HTTP)
        self._attributes_at_start = not sampler_reads_attributes
        # A child of an unsampled parent is never recorded: nothing to describe, nothing for the end listeners.
        self._skips_unsampled = drops_children_of_unsampled(getattr(tracer, "sampler", None))
        # Everything cached derives from this URL: a connection on another URL (never seen in practice) resets it.
        self._url: URL | None = None
        self._known: dict[tuple[str | None, str], tuple[str, _Attributes]] = {}
        event.listen(engine, "before_cursor_execute", self._before_cursor_execute, retval=True)
        event.listen(engine, "after_cursor_execute", _after_cursor_execute)
        event.listen(engine, "handle_error", _handle_error)

    def remove(self) -> None:
        """Detach this engine's listeners; statements run afterwards make no span."""
        for identifier, listener in (
            ("before_cursor_execute", self._before_cursor_execute),
            ("after_cursor_execute", _after_cursor_execute),
            ("handle_error", _handle_error),
        ):
            if event.contains(self._engine, identifier, listener):
                event.remove(self._engine, identifier, listener)

    def _before_cursor_execute(
        self,
        conn: Connection,
        cursor: object,
        statement: str,
        parameters: object,
        context: object,
        executemany: bool,
    ) -> tuple[str, object]:
        if not is_instrumentation_enabled():
            return statement, parameters
        if self._skips_unsampled:
            parent = trace.get_current_span().get_span_context()
            if parent.is_valid and not parent.trace_flags.sampled:
                return statement, parameters
        url = conn.engine.url
        if url is not self._url:
            self._url, self._known = url, {}
        db_name = _db_name_of(self._vendor, conn, cursor)
        known = self._known.get((db_name, statement))
        if known is None:
            known = self._describe(url, conn, cursor, db_name, statement)
        name, attributes = known
        if self._attributes_at_start:
            span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        else:
            span = self._tracer.start_span(name, kind=SpanKind.CLIENT)
            if span.is_recording():
                span.set_attributes(attributes)
        context._otel_span = span  # type: ignore[attr-defined]  # where the instrumentation's end listeners look
        return statement, parameters

    def _describe(
        self, url: URL, conn: Connection, cursor: object, db_name: str | None, statement: str
    ) -> tuple[str, _Attributes]:
        """The span's name and attributes, as ``EngineTracer`` computes them; remembered when they depend only on
        the URL, the database name and the statement (not for a PostgreSQL connection described by its cursor)."""
        attributes, found = _url_attributes(url, self._db_mode, self._http_mode)
        if not found:
            attributes = _cursor_attributes(self._vendor, conn, cursor, attributes, self._db_mode, self._http_mode)
        name = self._operation_name(db_name, statement)
        _set_db_statement(attributes, statement, self._db_mode)
        _set_db_system(attributes, self._vendor, self._db_mode)
        _set_db_operation(attributes, name, self._db_mode)
        described = (name, attributes)
        if (found or self._vendor != "postgresql") and len(self._known) < _KNOWN_STATEMENTS_LIMIT:
            self._known[db_name, statement] = described
        return described

    def _operation_name(self, db_name: str | None, statement: str) -> str:
        """The statement's first word (leading comment skipped) and the database name, as ``EngineTracer`` says."""
        parts: list[str] = []
        tokens = _LEADING_COMMENT.sub("", statement).split()
        if tokens:
            parts.append(tokens[0])
        if db_name:
            parts.append(db_name)
        return " ".join(parts) if parts else self._vendor
