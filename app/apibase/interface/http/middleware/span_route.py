"""Name the request's server span after its route template (``GET /api/v2/products/{entity_id}``).

The OpenTelemetry instrumentation sees only the outer application, where the API versions are mounted
sub-applications, so its span would be named after the mount (``GET /api/v2``). The route is known once the
response starts; this layer renames the current span then and sets ``http.route``, so traces group by endpoint
exactly as the access log and the RED metrics do.
"""

from __future__ import annotations

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apibase.interface.http.middleware.request_logging import route_template

__all__ = ["SpanRouteMiddleware"]


class SpanRouteMiddleware:
    """Pure ASGI; costs one lookup per response when a span is recording, nothing otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        span = trace.get_current_span()
        if scope["type"] != "http" or not span.is_recording():
            await self.app(scope, receive, send)
            return

        async def send_and_name(message: Message) -> None:
            if message["type"] == "http.response.start" and (template := route_template(scope)) is not None:
                span.update_name(f"{scope['method']} {template}")
                span.set_attribute("http.route", template)
            await send(message)

        await self.app(scope, receive, send_and_name)
