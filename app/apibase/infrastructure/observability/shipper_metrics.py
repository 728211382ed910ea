"""The log shipper's counters as Prometheus metrics: ``log_shipper_shipped_total`` and
``log_shipper_dropped_total{reason}``, read from the shipper at scrape time.

Dropping is the shipper's answer to a slow or absent cluster (requests never wait for logs), so the drop count is
what an alert watches (``manifests/observability/alerts.yaml``). In multiprocess mode each worker ships its own
lines and the scrape answers from the merged files only, so these two are reported by single-process services.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric

from apibase.infrastructure.observability.log_shipping import DropReason, LogShipper

__all__ = ["ShipperCollector"]


class ShipperCollector:
    """Register on a ``CollectorRegistry``: ``registry.register(ShipperCollector(shipper))``."""

    def __init__(self, shipper: LogShipper) -> None:
        self._shipper = shipper

    def collect(self) -> Iterable[Metric]:
        stats = self._shipper.stats
        shipped = CounterMetricFamily("log_shipper_shipped", "Log lines accepted by the log cluster")
        shipped.add_metric([], stats.shipped)
        dropped = CounterMetricFamily("log_shipper_dropped", "Log lines given up on, by reason", labels=["reason"])
        for reason in DropReason:
            dropped.add_metric([reason.value], stats.dropped_by_reason.get(reason, 0))
        return [shipped, dropped]
