"""Prometheus metrics of one application: RED per route template, in-flight requests, DB pools, business counts.

Each ``Metrics`` owns its ``CollectorRegistry`` (never the global default one), so several applications built in
one process (tests) never collide.

- ``http_requests_total{method,route,status}`` counts finished requests. Errors are *derived* from it, not kept
  in a second counter: ``sum by (route) (rate(http_requests_total{status=~"5.."}[5m]))``. One counter cannot
  drift from its own error subset, and the ratio needs no join.
- ``http_request_duration_seconds{method,route}`` is a histogram up to the 30 s request timeout.
- ``http_requests_in_flight`` is the number of requests being served now.
- ``db_pool_{size,checked_in,checked_out,overflow}{pool}`` describe each tracked engine's ``QueuePool``; pools
  that keep no queue (``StaticPool`` for in-memory SQLite, ``NullPool``) have nothing to report and are skipped.
- ``login_failures_total{reason}`` (``reason`` is an error code, a bounded set); modules add their own business
  counters with ``counter(name, documentation)`` (the reference service: ``orders_placed_total``,
  ``products_created_total``), ``adding_counter`` for counts that grow by more than one, and ``gauge`` for a
  level read from shared data (the outbox relay: ``outbox_events_pending``).

Exemplars: when an OpenTelemetry span is recording, the request counter and duration histogram carry
``{"trace_id": "<32 hex>"}``; they appear only in the OpenMetrics format (``Accept: application/openmetrics-text``).

Multiprocess mode (several uvicorn workers): set ``PROMETHEUS_MULTIPROC_DIR`` in the environment *before*
``prometheus_client`` is imported (that import decides where values live), and empty the directory before the
workers start (``prepare_multiprocess_dir``): files of a previous run would be added to the new counts. Every
worker then writes its values to files there, and a scrape, whichever worker answers it, merges all of them.
Gauges use ``livesum`` (the sum over live workers). A worker calls ``Metrics.close()`` when it stops, which drops
its live gauges (``mark_process_dead``); uvicorn has no hook for a worker that crashed, so the live gauges of a
crashed worker stay until the directory is emptied at the next start. A worker cannot read another's pool, so in
this mode each worker copies its own pool status into the gauges after every request it serves and before each
scrape. Exemplars are not stored in this mode (``prometheus_client`` keeps none in files).

Public API: ``Metrics``, ``DURATION_BUCKETS``, ``UNMATCHED_ROUTE``, ``prepare_multiprocess_dir(path)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Final

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

__all__ = ["DURATION_BUCKETS", "MULTIPROC_DIR_VARIABLE", "UNMATCHED_ROUTE", "Metrics", "prepare_multiprocess_dir"]

#: Latency buckets in seconds: fine below 100 ms where APIs live, coarse up to the 30 s request timeout.
DURATION_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The route label of a request no route matched (a 404, or one refused before routing): raw paths would let any
#: client create series without bound.
UNMATCHED_ROUTE: Final = "<unmatched>"
MULTIPROC_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"

_POOL_GAUGES: Final = (
    ("db_pool_size", "Connections the pool keeps open at most without overflow"),
    ("db_pool_checked_in", "Idle connections in the pool"),
    ("db_pool_checked_out", "Connections in use"),
    ("db_pool_overflow", "Connections open beyond the pool size"),
)


def prepare_multiprocess_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` or empty it of metric files (``*.db``) left by a previous run; call before workers start.

    Only ``*.db`` files at the top level are removed, so a mistyped path cannot wipe unrelated data.
    """
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory


def _multiprocess_dir() -> str | None:
    """The directory values are written to, if ``prometheus_client`` was imported in multiprocess mode."""
    if values.ValueClass is values.MutexValue:
        return None
    return os.environ[MULTIPROC_DIR_VARIABLE]


def _trace_exemplar() -> dict[str, str] | None:
    """``{"trace_id": ...}`` of the current span if it is recording (sampled in), else ``None``."""
    span = trace.get_current_span()
    context = span.get_span_context()
    if not context.is_valid or not span.is_recording():
        return None
    return {"trace_id": trace.format_trace_id(context.trace_id)}


def _pool_status(pool: object) -> tuple[int, int, int, int] | None:
    """Size, idle, in use and overflow of a ``QueuePool``; ``None`` for pools without a queue."""
    if not isinstance(pool, QueuePool):
        return None
    # overflow() starts at -size and counts up as connections open; only the part above the size is overflow.
    return pool.size(), pool.checkedin(), pool.checkedout(), max(pool.overflow(), 0)


class _PoolCollector:
    """Reads each engine's current pool at scrape time (``engine.pool`` is replaced by ``dispose()``)."""

    def __init__(self, engines: dict[str, AsyncEngine]) -> None:
        self.engines = engines  # shared with Metrics.track_database, so engines tracked later are read too

    def collect(self) -> Iterable[Metric]:
        families = [GaugeMetricFamily(name, text, labels=["pool"]) for name, text in _POOL_GAUGES]
        for name, engine in self.engines.items():
            status = _pool_status(engine.pool)
            if status is None:
                continue
            for family, value in zip(families, status, strict=True):
                family.add_metric([name], value)
        return families


class Metrics:
    """The service's instruments and their exposition; one per application (see the module docstring)."""

    def __init__(self, *, duration_buckets: Sequence[float] = DURATION_BUCKETS) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess_dir = _multiprocess_dir()
        registry = self.registry
        self._requests = Counter(
            "http_requests", "HTTP requests finished", ["method", "route", "status"], registry=registry
        )
        self._duration = Histogram(
            "http_request_duration_seconds",
            "Time from receiving a request to the end of its response",
            ["method", "route"],
            buckets=tuple(duration_buckets),
            registry=registry,
        )
        self._in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being served", registry=registry, multiprocess_mode="livesum"
        )
        self._login_failures = Counter("login_failures", "Refused logins, by error code", ["reason"], registry=registry)
        # The children of a label set, looked up once: ``labels()`` validates and locks on every call. Label values
        # are bounded (route templates, standard methods, status codes), so this stays small.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._engines: dict[str, AsyncEngine] = {}
        self._pool_gauges: list[Gauge] = []
        self._before_export: list[Callable[[], None]] = []
        if self.multiprocess_dir is None:
            registry.register(_PoolCollector(self._engines))
        else:
            self._pool_gauges = [
                Gauge(name, text, ["pool"], registry=registry, multiprocess_mode="livesum")
                for name, text in _POOL_GAUGES
            ]

    # -- HTTP --------------------------------------------------------------------------------------------
    def in_flight(self) -> AbstractContextManager[object]:
        """Counts the enclosed block as one request in flight."""
        return self._in_flight.track_inprogress()

    def request_finished(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished request; ``route`` must be a template or ``UNMATCHED_ROUTE``, never a raw path."""
        exemplar = _trace_exemplar()
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self._requests.labels(method, route, str(status)),
                self._duration.labels(method, route),
            )
        requests, duration = children
        requests.inc(exemplar=exemplar)
        duration.observe(seconds, exemplar=exemplar)
        if self.multiprocess_dir is not None:
            self._copy_pool_status()

    # -- database pools ----------------------------------------------------------------------------------
    def track_database(self, engine: AsyncEngine, *, name: str = "default") -> None:
        """Report ``engine``'s pool as ``db_pool_*{pool=name}``."""
        self._engines[name] = engine

    def before_export(self, copy: Callable[[], None]) -> None:
        """Multiprocess mode: run ``copy`` (which sets this process's gauges) wherever the pool status is copied."""
        self._before_export.append(copy)

    def _copy_pool_status(self) -> None:
        for copy in self._before_export:
            copy()
        for name, engine in self._engines.items():
            status = _pool_status(engine.pool)
            if status is not None:
                for gauge, value in zip(self._pool_gauges, status, strict=True):
                    gauge.labels(name).set(value)

    # -- business ----------------------------------------------------------------------------------------
    def counter(self, name: str, documentation: str) -> Callable[[], None]:
        """A module's business counter, exposed as ``<name>_total``: call the result to count one."""
        return Counter(name, documentation, registry=self.registry).inc

    def adding_counter(self, name: str, documentation: str) -> Callable[[float], None]:
        """A counter exposed as ``<name>_total`` that grows by the amount given (e.g. events sent per batch)."""
        return Counter(name, documentation, registry=self.registry).inc

    def gauge(self, name: str, documentation: str) -> Callable[[float], None]:
        """A gauge set to the latest reading; across workers the largest live reading (each reads the same data)."""
        return Gauge(name, documentation, registry=self.registry, multiprocess_mode="livemax").set

    def login_failed(self, reason: str) -> None:
        """``reason`` is an error code (``auth.invalid_credentials``), never user input."""
        self._login_failures.labels(reason).inc()

    # -- exposition --------------------------------------------------------------------------------------
    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition body and its content type, in the format ``accept`` asks for (OpenMetrics or text)."""
        encoder, content_type = choose_encoder(accept or "")
        if self.multiprocess_dir is None:
            return encoder(self.registry), content_type
        self._copy_pool_status()
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return encoder(merged), content_type

    def close(self) -> None:
        """At worker shutdown in multiprocess mode: drop this process's live gauges from the merged view."""
        if self.multiprocess_dir is not None:
            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]
