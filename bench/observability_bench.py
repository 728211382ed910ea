"""Cost of the signals: the reference service with tracing, metrics and the access log on, against all three off.

Run with ``.venv/bin/python bench/observability_bench.py [--requests N] [--rounds R]``.

Both variants are ``create_app`` with the whole security stack, on one SQLite file with one product, serving
``GET /api/v2/products/{id}`` with a real bearer token, driven in process (no sockets):

- ``on``: OpenTelemetry spans for the request, the handler and every SQL statement, sampled at 100% and handed
  to a ``BatchSpanProcessor`` (its exporter discards them: no collector runs here, and exporting happens off the
  request path anyway); Prometheus RED metrics; one JSON access log line per request (to ``/dev/null`` when run as
  documented);
- ``off``: tracing and metrics disabled, log level WARNING (no access log line);
- ``generic``: ``on``, but with the server span made by ``FastAPIInstrumentor``'s generic ASGI middleware instead of
  ``ServerSpanMiddleware`` (what the service did before), to show what the lean server span buys.

Rounds alternate the variants and the best of each counts. The target is on >= 0.85 x off.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI  # noqa: E402
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402

from apibase.core.settings import ObservabilitySettings, RateLimitSection, Settings  # noqa: E402
from apibase.infrastructure.observability.tracing import TracingHandle, configure_tracing  # noqa: E402
from apibase.testing.service import service_settings  # noqa: E402
from bench.asgi_driver import best_of, caller, command_line, report, seeded_service, shared_key_auth  # noqa: E402
from shop.main import create_app  # noqa: E402

TARGET = 0.85


class Discard(SpanExporter):
    """Accepts every batch and keeps nothing: the cost measured is recording spans, not shipping them."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def generic_tracing(settings: Settings) -> TracingHandle:
    """Tracing as before the lean server span: the server span from ``FastAPIInstrumentor``'s generic middleware."""
    handle = configure_tracing(settings, processors=[BatchSpanProcessor(Discard())])

    def instrument_generically(app: FastAPI) -> None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=handle.tracer_provider,
            excluded_urls=r"/metrics(\?|$)",
            exclude_spans=["receive", "send"],
        )

    handle.instrument_app = instrument_generically  # type: ignore[method-assign]
    return handle


async def main(requests: int, rounds: int) -> int:
    logging.disable(logging.INFO)  # third-party stdlib lines (httpx) are not part of the measurement
    unlimited = RateLimitSection(client_limit="100000000/minute", user_limit="100000000/minute")
    with tempfile.TemporaryDirectory(prefix="apibase-obs-bench-") as folder:
        database = Path(folder) / "bench.db"
        auth = shared_key_auth(Path(folder))
        on_settings = service_settings(database, auth=auth, rate_limit=unlimited, log_json=True)
        off_settings = service_settings(
            database,
            auth=auth,
            rate_limit=unlimited,
            log_level="WARNING",
            observability=ObservabilitySettings(tracing_enabled=False, metrics_enabled=False),
        )
        tracing = configure_tracing(on_settings, processors=[BatchSpanProcessor(Discard())])
        on, off = create_app(on_settings, tracing=tracing), create_app(off_settings)
        generic = create_app(on_settings, tracing=generic_tracing(on_settings))
        async with seeded_service(on, off, generic) as seeded:
            headers = [(b"authorization", seeded.authorization.encode()), (b"host", b"bench")]
            apps = {"off": off, "on": on, "generic": generic}
            calls = {name: caller(app, seeded.product_path, headers) for name, app in apps.items()}
            best = await best_of(calls, requests=requests, rounds=rounds)
    report(best, baseline="off", measured="on", target=TARGET, requests=requests, rounds=rounds)
    print(f"generic  {best['generic']:>10.0f}  (on/generic = {best['on'] / best['generic']:.2f})")
    return 0


if __name__ == "__main__":
    command_line(__doc__, main)
