"""The shipper's counters on a Prometheus registry: what the 'logs dropped' alert reads."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from apibase.infrastructure.observability.log_shipping import LogShipper
from apibase.infrastructure.observability.shipper_metrics import ShipperCollector

pytestmark = pytest.mark.unit


def test_drops_are_counted_by_reason_and_shipped_lines_are_reported() -> None:
    shipper = LogShipper("http://127.0.0.1:1", "logs", batch_size=5, buffer_size=10)
    registry = CollectorRegistry()
    registry.register(ShipperCollector(shipper))
    for number in range(12):
        shipper.offer({"message": f"line {number}"})

    assert registry.get_sample_value("log_shipper_dropped_total", {"reason": "buffer_full"}) == 2
    assert registry.get_sample_value("log_shipper_dropped_total", {"reason": "rejected"}) == 0
    assert registry.get_sample_value("log_shipper_shipped_total") == 0
