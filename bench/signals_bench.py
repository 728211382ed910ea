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

Rounds alternate the variants and the best of each counts; the overhead is per statement or observation, in
microseconds of this process's CPU time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry import metrics  # noqa: E402
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer  # noqa: E402
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as _version  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased  # noqa: E402
from sqlalchemy import Connection, create_engine  # noqa: E402

from apibase.infrastructure.observability.metrics import Metrics, _trace_exemplar  # noqa: E402
from apibase.infrastructure.observability.pii import _mask_patterns, mask_text  # noqa: E402
from apibase.infrastructure.observability.sql_spans import SqlSpans  # noqa: E402
from bench.asgi_driver import command_line  # noqa: E402

type Step = Callable[[], object]


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


async def main(requests: int, rounds: int) -> int:
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(1.0)))
    with provider.get_tracer("bench").start_as_current_span("request"):
        sql = _best(sql_steps(provider), count=requests, rounds=rounds)
        red = _best(metrics_steps(), count=requests, rounds=rounds)
        mask = _best(mask_steps(), count=requests, rounds=rounds)
    print(f"{requests} per round x {rounds} rounds, best round, CPU microseconds each")
    print("sql      " + "  ".join(f"{name} {value:7.1f}" for name, value in sql.items()))
    before, after = sql["engine_tracer"] - sql["bare"], sql["sql_spans"] - sql["bare"]
    print(f"         span cost {before:.1f} -> {after:.1f} us per statement ({before / after:.1f}x)")
    print(f"metrics  labels {red['labels']:7.1f}  cached {red['cached']:7.1f}  ({red['labels'] / red['cached']:.1f}x)")
    print(f"mask     patterns {mask['patterns']:5.1f}  remembered {mask['remembered']:5.1f}  (per line)")
    return 0


if __name__ == "__main__":
    command_line(__doc__, main)
