"""A span around every command and query, so a trace shows which use case a request ran and how it ended.

An ``Err`` is an expected outcome, not a crash: the span gets status ERROR and the error code, but no exception
event (there is no exception). Only identifiers from ``Message.log_context()`` become attributes, never field
values, for the same reason the log leaves them out: they may carry secrets or personal data.

List it first in a bus's behaviours, so the log lines of the inner behaviours are written inside the span.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from apibase.application.cqrs.messages import BaseCommand, Message
from apibase.application.cqrs.pipeline import Next
from apibase.core.errors import AnyAppError
from apibase.core.result import Ok, Result

__all__ = ["TracingBehaviour"]

_PREFIX = "apibase."


class TracingBehaviour:
    """Opens ``command PlaceOrder`` / ``query GetOrder`` spans with type, ids, outcome and error code."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)

    async def __call__[R](self, message: Message, call_next: Next[R]) -> Result[R, AnyAppError]:
        kind = "command" if isinstance(message, BaseCommand) else "query"
        name = type(message).__name__
        attributes = {
            f"{_PREFIX}{key}": value
            for key, value in message.log_context().items()
            if value is not None and key != "message_type"
        }
        attributes |= {f"{_PREFIX}message.type": name, f"{_PREFIX}message.kind": kind}
        # start_span + use_span is start_as_current_span without its generator-based context manager (1.4 µs less).
        span = self._tracer.start_span(f"{kind} {name}", kind=SpanKind.INTERNAL, attributes=attributes)
        with trace.use_span(span, end_on_exit=True):
            try:
                result = await call_next()
            except Exception:
                # The span records the exception itself; the outcome attribute keeps the three cases queryable.
                span.set_attribute(f"{_PREFIX}outcome", "exception")
                raise
            if isinstance(result, Ok):
                span.set_attribute(f"{_PREFIX}outcome", "ok")
            else:
                code = result.error.code.value
                span.set_attributes({f"{_PREFIX}outcome": "err", f"{_PREFIX}error.code": code})
                span.set_status(Status(StatusCode.ERROR, code))
        return result
