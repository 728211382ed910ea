"""The operator's own Prometheus metrics, and a tiny HTTP server for them and for a liveness probe.

Metrics live in a dedicated ``CollectorRegistry`` (never the process-global default): an ``OperatorMetrics`` is
self-contained, so tests build their own and read exact counts without colliding with anything else.

Liveness: ``/healthz`` answers 200 while the operator's event loop keeps calling ``Liveness.beat`` (run
``Liveness.keep_beating`` as a task from a kopf startup handler) and 503 once the beats stop, so a wedged
event loop gets the pod restarted even though this server runs in its own thread. Alternatively run kopf with
``--liveness=http://0.0.0.0:8080/healthz``: kopf then serves a probe from the loop itself; pass no ``Liveness``
here and point the pod's livenessProbe at kopf's port instead.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["METRICS", "NAMESPACE", "Liveness", "MetricsServer", "OperatorMetrics", "start_metrics_server"]

#: Every metric is ``apibase_operator_<name>``, so dashboards can tell the operator from the services it runs.
NAMESPACE: Final = "apibase_operator"


class OperatorMetrics:
    """The operator's counters and histogram, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        ns, reg = NAMESPACE, self.registry
        self.reconciles = Counter("reconciles", "Reconciliations by result", ["result"], namespace=ns, registry=reg)
        self.reconcile_duration = Histogram(
            "reconcile_duration_seconds", "Time spent in one reconciliation", namespace=ns, registry=reg
        )
        self.reconcile_errors = Counter(
            "reconcile_errors", "Failed reconciliations by reason", ["reason"], namespace=ns, registry=reg
        )
        self.canary_steps = Counter(
            "canary_steps", "Canary decisions by action", ["action"], namespace=ns, registry=reg
        )
        self.secret_syncs = Counter(
            "secret_syncs", "Vault secret syncs by result", ["result"], namespace=ns, registry=reg
        )
        self.write_requests = Counter(
            "write_requests",
            "Mutating Kubernetes API requests; a no-op resync adds none",
            ["verb", "kind"],
            namespace=ns,
            registry=reg,
        )

    @contextmanager
    def reconciling(self) -> Iterator[None]:
        """Time one reconciliation and count it; an exception counts as an error by its class name and propagates.

        The class name keeps the ``reason`` label's cardinality bounded, unlike an error message would.
        """
        started = time.perf_counter()
        try:
            yield
        except Exception as exc:
            self.reconciles.labels(result="error").inc()
            self.reconcile_errors.labels(reason=type(exc).__name__).inc()
            raise
        else:
            self.reconciles.labels(result="success").inc()
        finally:
            self.reconcile_duration.observe(time.perf_counter() - started)

    def canary_step(self, action: str) -> None:
        """Count one canary decision (``CanaryAction`` value)."""
        self.canary_steps.labels(action=action).inc()

    def secret_sync(self, result: str) -> None:
        """Count one secret sync, e.g. ``changed``, ``unchanged`` or ``failed``."""
        self.secret_syncs.labels(result=result).inc()

    def write_request(self, verb: str, kind: str) -> None:
        """Count one mutating API request (``verb`` like ``apply``/``delete``, ``kind`` like ``Deployment``)."""
        self.write_requests.labels(verb=verb, kind=kind).inc()

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A sample's current value (0 when never set): for tests and for asserting "nothing was written"."""
        found = self.registry.get_sample_value(f"{NAMESPACE}_{name}", labels or {})
        return found if found is not None else 0.0

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format."""
        return generate_latest(self.registry)


#: The process's metrics; code under test may take an ``OperatorMetrics`` of its own instead.
METRICS: Final = OperatorMetrics()


class Liveness:
    """Alive while beats keep coming: the event loop beats, the probe thread only reads."""

    def __init__(self, max_silence_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_silence = max_silence_seconds
        self._clock = clock
        self._last_beat = clock()  # a grace period at start-up, before the first beat

    def beat(self) -> None:
        self._last_beat = self._clock()

    def is_alive(self) -> bool:
        return self._clock() - self._last_beat <= self._max_silence

    async def keep_beating(self, interval_seconds: float = 10.0) -> None:
        """Beat forever from the event loop; if the loop is blocked, beats stop and ``/healthz`` turns 503."""
        while True:
            self.beat()
            await asyncio.sleep(interval_seconds)


class MetricsServer:
    """A running metrics server (in a daemon thread); ``close`` stops it and frees the port."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler(metrics: OperatorMetrics, liveness: Liveness | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, metrics.render(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                alive = liveness is None or liveness.is_alive()
                self._send(200 if alive else 503, b"ok\n" if alive else b"event loop silent\n")
            else:
                self._send(404, b"not found\n")

        def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's parameter name
            """Scrapes and probes every few seconds are not worth a log line."""

    return Handler


def start_metrics_server(
    port: int,
    host: str = "0.0.0.0",  # noqa: S104 - in a pod, Prometheus and the kubelet reach it from outside
    *,
    metrics: OperatorMetrics = METRICS,
    liveness: Liveness | None = None,
) -> MetricsServer:
    """Serve ``/metrics`` and ``/healthz`` on ``host:port`` (port 0 picks a free one) from a daemon thread.

    Without a ``liveness``, ``/healthz`` answers 200 whenever the process serves HTTP at all.
    """
    server = ThreadingHTTPServer((host, port), _handler(metrics, liveness))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="apibase-operator-metrics", daemon=True)
    thread.start()
    return MetricsServer(server, thread)
