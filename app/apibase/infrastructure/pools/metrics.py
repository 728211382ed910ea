"""The pools' figures as Prometheus gauges ``connection_pool_{limit,open,in_use,idle}{pool}``, read at scrape time.

``pool`` is ``database``, ``redis``, ``http`` (outbound calls), ``http_log_shipping``, ``dapr`` or ``rabbitmq``.
An alert on ``connection_pool_in_use >= connection_pool_limit`` catches a pool sized too small (requests then wait
for a connection). In multiprocess mode each worker copies its own readings into ``livesum`` gauges before a scrape,
so the figures are summed over the live workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

from prometheus_client import Gauge
from prometheus_client.core import GaugeMetricFamily, Metric

from apibase.infrastructure.observability.metrics import Metrics
from apibase.infrastructure.pools.status import PoolStatus

__all__ = ["POOL_GAUGES", "report_pools"]

#: Name and help of each gauge, in ``PoolStatus`` field order.
POOL_GAUGES: Final = (
    ("connection_pool_limit", "Connections the pool may open at most"),
    ("connection_pool_open", "Connections open now"),
    ("connection_pool_in_use", "Connections lent out now"),
    ("connection_pool_idle", "Open connections waiting to be reused"),
)

type PoolReadings = Callable[[], Mapping[str, PoolStatus]]


class _PoolsCollector:
    def __init__(self, read: PoolReadings) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        families = [GaugeMetricFamily(name, text, labels=["pool"]) for name, text in POOL_GAUGES]
        for pool, status in self._read().items():
            for family, value in zip(families, status, strict=True):
                family.add_metric([pool], value)
        return families


def report_pools(metrics: Metrics, read: PoolReadings) -> None:
    """Export the readings ``read`` returns on ``metrics``' registry."""
    if metrics.multiprocess_dir is None:
        metrics.registry.register(_PoolsCollector(read))
        return
    gauges = [
        Gauge(name, text, ["pool"], registry=metrics.registry, multiprocess_mode="livesum")
        for name, text in POOL_GAUGES
    ]

    def copy_readings() -> None:
        for pool, status in read().items():
            for gauge, value in zip(gauges, status, strict=True):
                gauge.labels(pool).set(value)

    metrics.before_export(copy_readings)
