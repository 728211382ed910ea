"""``connection_pool_*{pool}`` gauges: read at scrape time, or copied into live gauges in multiprocess mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apibase.infrastructure.observability.metrics import Metrics
from apibase.infrastructure.pools import PoolStatus, report_pools

pytestmark = pytest.mark.unit

READINGS = {"redis": PoolStatus(limit=20, open=3, in_use=1, idle=2), "http": PoolStatus(50, 0, 0, 0)}


def pool_samples(metrics: Metrics) -> dict[tuple[str, str], float]:
    body, _ = metrics.render(None)
    return {
        (sample.name, sample.labels["pool"]): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name.startswith("connection_pool_")
    }


def test_every_pool_reports_its_limit_open_in_use_and_idle_connections() -> None:
    metrics = Metrics()
    readings = dict(READINGS)
    report_pools(metrics, lambda: readings)

    assert pool_samples(metrics) == {
        ("connection_pool_limit", "redis"): 20,
        ("connection_pool_open", "redis"): 3,
        ("connection_pool_in_use", "redis"): 1,
        ("connection_pool_idle", "redis"): 2,
        ("connection_pool_limit", "http"): 50,
        ("connection_pool_open", "http"): 0,
        ("connection_pool_in_use", "http"): 0,
        ("connection_pool_idle", "http"): 0,
    }
    readings["redis"] = PoolStatus(20, 5, 5, 0)
    assert pool_samples(metrics)[("connection_pool_in_use", "redis")] == 5, "read at each scrape, not once"


def test_in_multiprocess_mode_each_request_copies_the_readings_into_live_gauges(tmp_path: Path) -> None:
    metrics = Metrics()
    metrics.multiprocess_dir = str(tmp_path)  # what a worker started with PROMETHEUS_MULTIPROC_DIR has
    report_pools(metrics, lambda: READINGS)
    assert metrics.registry.get_sample_value("connection_pool_open", {"pool": "redis"}) is None

    metrics.request_finished("GET", "/items", 200, 0.01)

    assert metrics.registry.get_sample_value("connection_pool_open", {"pool": "redis"}) == 3
    assert metrics.registry.get_sample_value("connection_pool_limit", {"pool": "http"}) == 50
