"""One OpenTelemetry server span per request, at a fraction of the generic ASGI instrumentation's cost.

``FastAPIInstrumentor`` wraps the application in ``OpenTelemetryMiddleware``, which on every request also matches
the URL against every route of the outer application to name the span (here it only ever finds a version's mount,
and ``SpanRouteMiddleware`` renames the span after the real route anyway), sets each request attribute twice (once
for the sampler, once in case the sampler's result dropped them), and computes the attribute sets of five HTTP
metrics that nothing reads unless a global OpenTelemetry meter provider is installed. Measured in process on the
reference service, that was about a tenth of a request's CPU.

``ServerSpanMiddleware`` makes the same span: the same instrumentation scope, kind (``SERVER``, or ``INTERNAL``
under an active span), parent (W3C trace context and baggage from the headers), request attributes (the ASGI
instrumentation's ``collect_request_attributes``, built by ``RequestTarget`` from
:mod:`apibase.infrastructure.observability.request_attributes` for a fraction of its cost), status code and span
status (its ``set_status_code``), excluded URLs, a global response propagator, exceptions recorded on the span, and
the span ends with the last body chunk (also when HTTP trailers follow, which the generic middleware waits for;
nothing here sends any). A request that no route named (a 404, or a refusal before routing) gets the name and
``http.route`` the FastAPI instrumentation would have given it, computed only then.

A request the sampler drops costs one context extraction and a non-recording span when the sampler is known not to
read attributes (``configure_tracing``'s own: parent-based, then a trace-id ratio): the request attributes are
collected only for a span that records.

What it leaves out are the instrumentation's HTTP *metrics*, so ``lean_server_spans_suffice()`` says when it may be
used: when no global meter provider is installed (those instruments are no-ops then) and no header capture is
configured through the ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*`` variables. Otherwise the caller keeps
``FastAPIInstrumentor``.

Public API: ``lean_server_spans_suffice() -> bool``, ``no_global_meter_provider() -> bool``,
``instrument_server_spans(app, *, tracer_provider, excluded_urls)``, ``uninstrument_server_spans(app)``,
``ServerSpanMiddleware``.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from typing import Final

from fastapi import FastAPI
from opentelemetry import context, metrics, trace
from opentelemetry.instrumentation import asgi, propagators
from opentelemetry.instrumentation._semconv import (
    _get_schema_url,
    _OpenTelemetrySemanticConventionStability,
    _OpenTelemetryStabilitySignalType,
    _StabilityMode,
)
from opentelemetry.instrumentation.fastapi import _get_default_span_details
from opentelemetry.instrumentation.fastapi.version import __version__ as _fastapi_instrumentation_version
from opentelemetry.instrumentation.utils import is_http_instrumentation_enabled
from opentelemetry.propagate import extract
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.http import ExcludeList, parse_excluded_urls
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.infrastructure.observability.request_attributes import RequestTarget, sanitized_method

__all__ = [
    "ServerSpanMiddleware",
    "instrument_server_spans",
    "lean_server_spans_suffice",
    "no_global_meter_provider",
    "uninstrument_server_spans",
]

#: The scope the FastAPI instrumentation reports its spans under: backends show and filter by it.
INSTRUMENTATION_SCOPE: Final = "opentelemetry.instrumentation.fastapi"
_CAPTURE_VARIABLES: Final = (
    "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST",
    "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE",
)
#: The global providers nobody has installed yet (the API's own placeholders).
_PLACEHOLDER_METER_PROVIDERS: Final = ("_ProxyMeterProvider", "NoOpMeterProvider")
_ORIGINAL_BUILD: Final = "_apibase_original_build_middleware_stack"

# The instrumentation's own helpers, typed here (the package ships without annotations).
_set_status_code: Callable[[trace.Span, int, None, _StabilityMode], None] = asgi.set_status_code
_response_propagator: Callable[[], TextMapPropagator | None] = propagators.get_global_response_propagator
_initialize_semconv: Callable[[], None] = _OpenTelemetrySemanticConventionStability._initialize


def no_global_meter_provider() -> bool:
    """True while the global meter provider is the API's placeholder: instruments made from it record nothing."""
    provider = type(metrics.get_meter_provider())
    return provider.__module__.startswith("opentelemetry.metrics") and (
        provider.__name__ in _PLACEHOLDER_METER_PROVIDERS
    )


def lean_server_spans_suffice() -> bool:
    """True when the ASGI instrumentation's HTTP metrics would record nothing and no header capture is asked for."""
    return no_global_meter_provider() and not any(os.environ.get(name) for name in _CAPTURE_VARIABLES)


def _semconv_mode() -> _StabilityMode:
    _initialize_semconv()
    return _OpenTelemetrySemanticConventionStability._get_opentelemetry_stability_opt_in_mode(
        _OpenTelemetryStabilitySignalType.HTTP
    )


class _RecordExceptions:
    """Inside Starlette's error middleware, so the span is still current when an exception escapes the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            span = trace.get_current_span()
            if span.is_recording():
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise


class ServerSpanMiddleware:
    """Pure ASGI: the server span of every HTTP and WebSocket request (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tracer: trace.Tracer,
        excluded_urls: ExcludeList | None,
        mode: _StabilityMode,
        default_span_details: Callable[[Scope], tuple[str, dict[str, str]]] = _get_default_span_details,
        sampler_reads_attributes: bool = True,
    ) -> None:
        """``sampler_reads_attributes=False``: the request attributes are collected only for a span the sampler
        kept, which makes an unsampled request nearly free; say so only for a sampler that ignores them."""
        self.app = app
        self._tracer = tracer
        self._excluded_urls = excluded_urls
        self._mode = mode
        self._default_span_details = default_span_details
        self._attributes_at_start = sampler_reads_attributes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not is_http_instrumentation_enabled():
            await self.app(scope, receive, send)
            return
        target = RequestTarget.of(scope)
        if self._excluded_urls is not None and self._excluded_urls.url_disabled(target.url):
            await self.app(scope, receive, send)
            return
        # Named after the method for now: the route layer renames it; ``_finish`` names an unrouted request.
        provisional = sanitized_method(str(scope.get("method", "")).strip())
        provisional = "HTTP" if provisional == "_OTHER" else provisional
        token = None
        if trace.get_current_span() is trace.INVALID_SPAN:
            parent = extract(scope, getter=asgi.asgi_getter)  # type: ignore[misc]  # the getter is untyped
            token = context.attach(parent)
            kind = SpanKind.SERVER
        else:
            parent = context.get_current()
            kind = SpanKind.INTERNAL
        if self._attributes_at_start:
            attributes = target.attributes(scope, self._mode)
            span = self._tracer.start_span(provisional, context=parent, kind=kind, attributes=attributes)
            if span.is_recording():  # a sampler's result replaces the attributes: set them again, as OTel's does
                span.set_attributes(attributes)
        else:
            span = self._tracer.start_span(provisional, context=parent, kind=kind)
            if span.is_recording():
                span.set_attributes(target.attributes(scope, self._mode))
        propagator = _response_propagator()

        async def send_with_span(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                _set_status_code(span, message["status"], None, self._mode)
                if propagator is not None:
                    carrier = trace.set_span_in_context(span, context.Context())
                    propagator.inject(message, context=carrier, setter=asgi.asgi_setter)  # type: ignore[misc]
            elif kind == "websocket.send":
                _set_status_code(span, 200, None, self._mode)
            await send(message)
            if kind == "http.response.body" and not message.get("more_body", False):
                self._finish(span, scope, provisional)

        try:
            with trace.use_span(span, end_on_exit=False):
                await self.app(scope, receive, send_with_span)
        finally:
            if token is not None:
                context.detach(token)
            if span.is_recording():
                self._finish(span, scope, provisional)

    def _finish(self, span: trace.Span, scope: Scope, provisional: str) -> None:
        if not span.is_recording():
            return
        if getattr(span, "name", None) == provisional:  # no route renamed it: what the instrumentation would say
            name, attributes = self._default_span_details(scope)
            span.update_name(name)
            span.set_attributes(attributes)
        span.end()


def instrument_server_spans(
    app: FastAPI, *, tracer_provider: trace.TracerProvider, excluded_urls: str, sampler_reads_attributes: bool = True
) -> None:
    """Wrap ``app`` as ``FastAPIInstrumentor.instrument_app`` does (outside every middleware, exceptions recorded
    inside Starlette's error middleware), with ``ServerSpanMiddleware``; call before the first request."""
    if hasattr(app, _ORIGINAL_BUILD):
        raise RuntimeError("the application already has server spans")
    mode = _semconv_mode()
    tracer = tracer_provider.get_tracer(
        INSTRUMENTATION_SCOPE, _fastapi_instrumentation_version, schema_url=_get_schema_url(mode)
    )
    excluded = parse_excluded_urls(excluded_urls)
    original = app.build_middleware_stack

    def build_middleware_stack(self: FastAPI) -> ASGIApp:
        errors = original()
        if not isinstance(errors, ServerErrorMiddleware):  # Starlette changed its stack: leave it alone
            return errors
        inner = ServerErrorMiddleware(_RecordExceptions(errors.app), handler=errors.handler, debug=errors.debug)
        spans = ServerSpanMiddleware(
            inner,
            tracer=tracer,
            excluded_urls=excluded,
            mode=mode,
            sampler_reads_attributes=sampler_reads_attributes,
        )
        return ServerErrorMiddleware(spans)

    setattr(app, _ORIGINAL_BUILD, original)
    app.build_middleware_stack = types.MethodType(build_middleware_stack, app)  # type: ignore[method-assign]


def uninstrument_server_spans(app: FastAPI) -> None:
    """Undo ``instrument_server_spans``; the next request builds the plain stack again."""
    original = getattr(app, _ORIGINAL_BUILD, None)
    if original is None:
        return
    delattr(app, _ORIGINAL_BUILD)
    app.build_middleware_stack = original  # type: ignore[method-assign]
    app.middleware_stack = app.build_middleware_stack()
