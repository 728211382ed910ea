from __future__ import annotations

import pytest

from apibase_operator.reconcile import Observed

pytestmark = pytest.mark.unit


def test_the_service_selects_both_tracks_on_port_80(make, render):
    rendered = render(make(port=9000, canary={"image": "ghcr.io/acme/orders:1.5.0"}), Observed(canary_active=True))
    service = rendered.get("Service")

    assert service["apiVersion"] == "v1"
    assert service["spec"] == {
        "type": "ClusterIP",
        "selector": {"app.kubernetes.io/name": "orders", "app.kubernetes.io/instance": "orders"},
        "ports": [{"name": "http", "port": 80, "targetPort": 9000, "protocol": "TCP"}],
    }
    for deployment in ("orders", "orders-canary"):
        pod_labels = rendered.pod(deployment)["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
