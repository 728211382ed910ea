"""CPU per signal: a SQL statement's span, a request's RED metrics and masking, lean against what they replaced.

Run with ``.venv/bin/python bench/signals_bench.py [--requests N] [--rounds R]`` (``--requests`` is the number
of statements or observations per round).

- ``sql``: ``SELECT 1`` on an in-memory SQLite engine inside a sampled parent span, with no listener (``bare``),
  with the instrumentation's ``EngineTracer`` (``engine_tracer``), and with ``SqlSpans`` (``sql_spans``, as
  ``configure_tracing`` sets it up). The provider has no span processor, as a service without an exporter.
- ``metrics``: ``Metrics.request_finished`` (``cached``) against the same two observations made through
  ``labels()`` on every call (``labels``), as it was done before, both with a recording span for the exemplar.
- ``mask``: ``mask_text`` on the values of an access log line that it scans (path, user id, client address,
  route), remembered verdicts (``remembered``) against running the patterns each time (``patterns``, as before).
- ``layers``: each signal's ASGI layer around an application that only answers (its coroutines driven by hand, no
  event loop), for ``GET /api/v2/products/{id}`` with a host, a bearer token and a tenant header: the JSON access
  line written to a file (``access_log``), the RED observation (``metrics``), the server span renamed after the
  route (``server_span``, the provider and sampler ``configure_tracing`` builds, no span processor as with no
  collector), both with the observation's exemplar (``span_metrics``), and the use case's span around nothing
  (``use_case``). Each is its cost over the bare application; run it with ``PYTHONPATH`` on another tree's ``app``
  to compare two versions of the layers with one script.

Rounds alternate the variants and the best of each counts; the overhead is per statement or observation, in
microseconds of this process's CPU time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry import context as otel_context  # noqa: E402
from opentelemetry import metrics, trace  # noqa: E402
from opentelemetry.instrumentation._semconv import _StabilityMode  # noqa: E402
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer  # noqa: E402
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as _version  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased  # noqa: E402
from opentelemetry.util.http import parse_excluded_urls  # noqa: E402
from sqlalchemy import Connection, create_engine  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from apibase.application.cqrs.messages import BaseQuery  # noqa: E402
from apibase.core.errors import AnyAppError  # noqa: E402
from apibase.core.result import Ok, Result  # noqa: E402
from apibase.core.settings import Settings  # noqa: E402
from apibase.infrastructure.observability.cqrs_tracing import TracingBehaviour  # noqa: E402
from apibase.infrastructure.observability.logging import configure_logging  # noqa: E402
from apibase.infrastructure.observability.metrics import Metrics, _trace_exemplar  # noqa: E402
from apibase.infrastructure.observability.pii import _mask_patterns, mask_text  # noqa: E402
from apibase.infrastructure.observability.server_spans import INSTRUMENTATION_SCOPE, ServerSpanMiddleware  # noqa: E402
from apibase.infrastructure.observability.sql_spans import SqlSpans  # noqa: E402
from apibase.infrastructure.observability.tracing import configure_tracing  # noqa: E402
from apibase.interface.http.middleware.metrics import MetricsMiddleware  # noqa: E402
from apibase.interface.http.middleware.request_logging import RequestLoggingMiddleware  # noqa: E402
from apibase.interface.http.middleware.span_route import SpanRouteMiddleware  # noqa: E402
from bench.asgi_driver import command_line  # noqa: E402

type Step = Callable[[], object]


class GetProduct(BaseQuery[None]):
    """A query for the use case's span: only its type is an attribute."""

    product_id: str


def _cpu_us(step: Step, count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        step()
    return (time.process_time() - started) / count * 1e6


def _best(steps: Mapping[str, Step], *, count: int, rounds: int) -> dict[str, float]:
    for step in steps.values():
        _cpu_us(step, min(count, 200))
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(rounds):
        for name, step in steps.items():
            best[name] = min(best[name], _cpu_us(step, count))
    return best


def _statement(connection: Connection) -> Step:
    def step() -> object:
        return connection.exec_driver_sql("SELECT 1").scalar()

    return step


def sql_steps(provider: TracerProvider) -> dict[str, Step]:
    tracer = provider.get_tracer(EngineTracer.__module__, _version)
    engines = {name: create_engine("sqlite://") for name in ("bare", "engine_tracer", "sql_spans")}
    usage = metrics.get_meter(EngineTracer.__module__, _version).create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer, engines["engine_tracer"], usage)  # type: ignore[no-untyped-call]
    SqlSpans(tracer, engines["sql_spans"], sampler_reads_attributes=False)
    return {name: _statement(engine.connect()) for name, engine in engines.items()}


def metrics_steps() -> dict[str, Step]:
    cached, direct = Metrics(), Metrics()

    def labels() -> None:  # the observation as request_finished made it before the children were cached
        exemplar = _trace_exemplar()
        direct._requests.labels("GET", "/api/v2/products/{entity_id}", "200").inc(exemplar=exemplar)
        direct._duration.labels("GET", "/api/v2/products/{entity_id}").observe(0.002, exemplar=exemplar)

    def finished() -> None:
        cached.request_finished("GET", "/api/v2/products/{entity_id}", 200, 0.002)

    return {"labels": labels, "cached": finished}


def mask_steps() -> dict[str, Step]:
    values = (
        "/api/v2/products/7d75d032-904c-4cda-aba4-c144d5c83c67",
        "254eb1c2-c11d-4d2a-b60a-c54f5b483f92",
        "127.0.0.1",
        "/api/v2/products/{entity_id}",
    )

    def fresh() -> list[str]:  # each line's values are new string objects, equal to the last line's
        return [value[:1] + value[1:] for value in values]

    return {
        "patterns": lambda: [_mask_patterns(value) for value in fresh()],
        "remembered": lambda: [mask_text(value) for value in fresh()],
    }


_PATH = "/api/v2/products/7d75d032-904c-4cda-aba4-c144d5c83c67"
_SCOPE: Scope = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": _PATH,
    "raw_path": _PATH.encode(),
    "query_string": b"",
    "root_path": "",
    "headers": [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", b"Bearer " + b"x" * 200),
        (b"x-tenant-id", b"default"),
    ],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}
_ROUTE = Route("/api/v2/products/{entity_id}", lambda request: None)


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    scope["route"] = _ROUTE  # what the router leaves for the layers that name the route
    scope["state"]["tenant"] = "default"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}", "more_body": False})


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Message) -> None:
    return None


def _request(app: ASGIApp) -> Step:
    """One request through ``app``, whose coroutine never waits: driven by ``send`` without an event loop."""

    def step() -> object:
        coroutine = cast(Coroutine[object, object, None], app({**_SCOPE, "state": {}}, _receive, _send))
        try:
            coroutine.send(None)
        except StopIteration:
            return None
        raise RuntimeError("the layer waited for something")

    return step


def layer_steps() -> dict[str, Step]:
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:")
    configure_logging(json=True, level="INFO", service_name="shop", service_version="1.0", environment="production")
    provider = configure_tracing(settings).tracer_provider
    tracer = provider.get_tracer(INSTRUMENTATION_SCOPE)
    excluded = parse_excluded_urls(r"/metrics(\?|$)")

    def spans(app: ASGIApp) -> ASGIApp:
        named = SpanRouteMiddleware(app)
        return ServerSpanMiddleware(
            named, tracer=tracer, excluded_urls=excluded, mode=_StabilityMode.DEFAULT, sampler_reads_attributes=False
        )

    behaviour = TracingBehaviour(provider)
    query = GetProduct(product_id="7d75d032-904c-4cda-aba4-c144d5c83c67")

    async def ok() -> Result[None, AnyAppError]:
        return Ok(None)

    request = trace.set_span_in_context(provider.get_tracer("bench").start_span("request"))

    async def use_case(scope: Scope, receive: Receive, send: Send) -> None:
        token = otel_context.attach(request)  # under a request's span, as in the service
        try:
            await behaviour(query, ok)
        finally:
            otel_context.detach(token)

    return {
        "bare": _request(_answer),
        "access_log": _request(RequestLoggingMiddleware(_answer)),
        "metrics": _request(MetricsMiddleware(_answer, metrics=Metrics())),
        "server_span": _request(spans(_answer)),
        "span_metrics": _request(spans(MetricsMiddleware(_answer, metrics=Metrics()))),
        "use_case": _request(use_case),
    }


def _layer_costs(requests: int, rounds: int) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory(prefix="apibase-signals-bench-") as folder,
        Path(folder, "access.log").open("w") as log,
    ):
        stderr, sys.stderr = sys.stderr, log  # the access line goes to a file, as the server's does
        try:
            return _best(layer_steps(), count=requests, rounds=rounds)
        finally:
            sys.stderr = stderr


async def main(requests: int, rounds: int) -> int:
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(1.0)))
    with provider.get_tracer("bench").start_as_current_span("request"):
        sql = _best(sql_steps(provider), count=requests, rounds=rounds)
        red = _best(metrics_steps(), count=requests, rounds=rounds)
        mask = _best(mask_steps(), count=requests, rounds=rounds)
    layers = _layer_costs(requests, rounds)
    print(f"{requests} per round x {rounds} rounds, best round, CPU microseconds each")
    print("sql      " + "  ".join(f"{name} {value:7.1f}" for name, value in sql.items()))
    before, after = sql["engine_tracer"] - sql["bare"], sql["sql_spans"] - sql["bare"]
    print(f"         span cost {before:.1f} -> {after:.1f} us per statement ({before / after:.1f}x)")
    print(f"metrics  labels {red['labels']:7.1f}  cached {red['cached']:7.1f}  ({red['labels'] / red['cached']:.1f}x)")
    print(f"mask     patterns {mask['patterns']:5.1f}  remembered {mask['remembered']:5.1f}  (per line)")
    bare = layers.pop("bare")
    print("layers   " + "  ".join(f"{name} {value - bare:5.1f}" for name, value in layers.items()) + "  (per request)")
    return 0


if __name__ == "__main__":
    command_line(__doc__, main)
