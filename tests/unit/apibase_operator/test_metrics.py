"""Operator metrics: counters move, and the HTTP server serves them and a liveness probe on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest

from apibase_operator.metrics import METRICS, Liveness, MetricsServer, OperatorMetrics, start_metrics_server

pytestmark = pytest.mark.unit


@pytest.fixture
def metrics() -> OperatorMetrics:
    return OperatorMetrics()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def serving(metrics: OperatorMetrics, liveness: Liveness | None = None) -> Iterator[MetricsServer]:
    server = start_metrics_server(0, "127.0.0.1", metrics=metrics, liveness=liveness)
    try:
        yield server
    finally:
        server.close()


def test_a_successful_reconcile_is_counted_and_timed(metrics: OperatorMetrics) -> None:
    with metrics.reconciling():
        pass

    assert metrics.value("reconciles_total", {"result": "success"}) == 1
    assert metrics.value("reconciles_total", {"result": "error"}) == 0
    assert metrics.value("reconcile_duration_seconds_count") == 1


def test_a_failed_reconcile_is_counted_by_error_class_and_still_raises(metrics: OperatorMetrics) -> None:
    with pytest.raises(TimeoutError), metrics.reconciling():
        raise TimeoutError("api server slow")

    assert metrics.value("reconciles_total", {"result": "error"}) == 1
    assert metrics.value("reconcile_errors_total", {"reason": "TimeoutError"}) == 1
    assert metrics.value("reconcile_duration_seconds_count") == 1


def test_canary_secret_and_write_counters_move(metrics: OperatorMetrics) -> None:
    metrics.canary_step("advance")
    metrics.canary_step("advance")
    metrics.secret_sync("changed")
    metrics.write_request("apply", "Deployment")

    assert metrics.value("canary_steps_total", {"action": "advance"}) == 2
    assert metrics.value("secret_syncs_total", {"result": "changed"}) == 1
    assert metrics.value("write_requests_total", {"verb": "apply", "kind": "Deployment"}) == 1
    assert metrics.value("write_requests_total", {"verb": "delete", "kind": "Deployment"}) == 0


def test_each_instance_has_its_own_registry(metrics: OperatorMetrics) -> None:
    metrics.write_request("apply", "Service")

    assert OperatorMetrics().value("write_requests_total", {"verb": "apply", "kind": "Service"}) == 0
    assert METRICS.registry is not metrics.registry


def test_the_server_serves_metrics_and_health(metrics: OperatorMetrics) -> None:
    metrics.canary_step("promote")
    with serving(metrics) as server, httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as http:
        scraped = http.get("/metrics?name[]=x")
        health = http.get("/healthz")
        missing = http.get("/")

    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    assert 'apibase_operator_canary_steps_total{action="promote"} 1.0' in scraped.text
    assert "apibase_operator_reconcile_duration_seconds_bucket" in scraped.text
    assert (health.status_code, health.text) == (200, "ok\n")
    assert missing.status_code == 404


def test_healthz_turns_503_when_the_event_loop_stops_beating(metrics: OperatorMetrics) -> None:
    clock = Clock()
    liveness = Liveness(max_silence_seconds=30, clock=clock)
    with serving(metrics, liveness) as server, httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as http:
        clock.now += 30
        at_limit = http.get("/healthz")
        clock.now += 1
        silent = http.get("/healthz")
        liveness.beat()
        beating = http.get("/healthz")

    assert at_limit.status_code == 200
    assert (silent.status_code, silent.text) == (503, "event loop silent\n")
    assert beating.status_code == 200


async def test_keep_beating_beats_from_the_event_loop() -> None:
    clock = Clock()
    liveness = Liveness(max_silence_seconds=5, clock=clock)
    clock.now += 10
    assert not liveness.is_alive()

    task = asyncio.create_task(liveness.keep_beating(interval_seconds=0.01))
    await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    assert liveness.is_alive()
