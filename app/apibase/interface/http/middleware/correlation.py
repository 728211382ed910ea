"""Give every request a correlation id: the id of the whole business flow, across services, retries and queues.

A request id names one hop; a correlation id is kept as a flow crosses services (``X-Correlation-ID`` in, the
same value out on every outgoing call and message, see ``apibase.infrastructure.observability.tracing``). A caller
that sends none starts a flow: this request's id becomes the correlation id, so the first hop's logs line up
with both. Anything that does not look like an id is replaced rather than trusted (no header injection, no log
forging), exactly as for ``X-Request-ID``.

Public API: ``CorrelationIdMiddleware(app)`` (pure ASGI, right inside ``RequestIdMiddleware``),
``CORRELATION_ID_HEADER``, ``CORRELATION_ID_SCOPE_KEY``, ``correlation_id_for(scope) -> str | None``.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Scope

from apibase.core.context import correlation_id
from apibase.interface.http.middleware.request_id import EchoedIdMiddleware, new_request_id
from apibase.interface.http.problems import request_id_for

__all__ = ["CORRELATION_ID_HEADER", "CORRELATION_ID_SCOPE_KEY", "CorrelationIdMiddleware", "correlation_id_for"]

CORRELATION_ID_HEADER: Final = "X-Correlation-ID"
#: Kept in the scope too, for code that runs after this middleware has reset the context variable.
CORRELATION_ID_SCOPE_KEY: Final = "apibase.correlation_id"


def correlation_id_for(scope: Scope) -> str | None:
    value = scope.get(CORRELATION_ID_SCOPE_KEY)
    return value if isinstance(value, str) else None


class CorrelationIdMiddleware(EchoedIdMiddleware):
    """Accepts a well-formed incoming ``X-Correlation-ID`` (else the request id, else a new id), binds it for the
    request's code and echoes it on the response, replacing any the application set."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(
            app,
            header=CORRELATION_ID_HEADER,
            scope_key=CORRELATION_ID_SCOPE_KEY,
            variable=correlation_id,
            fallback=lambda scope: request_id_for(scope) or new_request_id(),
        )
