from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apibase_operator.crd.models import ApiBaseResource
from apibase_operator.reconcile import Observed, desired_objects
from apibase_operator.reconcile.istio import route_weights

pytestmark = pytest.mark.unit

ISTIO_KINDS = {"DestinationRule", "VirtualService", "PeerAuthentication", "AuthorizationPolicy"}
HOST = "orders.shop.svc.cluster.local"
CANARY = {"image": "ghcr.io/acme/orders:1.5.0"}


def routes(rendered) -> list[tuple[str, int]]:
    (http,) = rendered.get("VirtualService")["spec"]["http"]
    return [(route["destination"]["subset"], route["weight"]) for route in http["route"]]


@pytest.mark.parametrize("istio", [None, {"enabled": False, "hosts": ["orders.example.com"]}])
def test_no_istio_means_no_istio_objects_and_no_sidecar(make, render, istio):
    rendered = render(make(istio=istio, dapr={}, canary=CANARY), Observed(canary_active=True, canary_weight=50))

    assert not {kind for kind, _ in rendered.kinds()} & ISTIO_KINDS
    assert "sidecar.istio.io/inject" not in rendered.pod()["metadata"]["labels"]
    assert not any("istio.io" in key for key in rendered.pod_annotations())


def test_istio_objects_with_defaults(make, render):
    rendered = render(make(istio={}))

    assert rendered.get("DestinationRule")["apiVersion"] == "networking.istio.io/v1"
    assert rendered.get("DestinationRule")["spec"] == {
        "host": HOST,
        "subsets": [
            {"name": "stable", "labels": {"apibase.dev/track": "stable"}},
            {"name": "canary", "labels": {"apibase.dev/track": "canary"}},
        ],
    }
    assert rendered.get("VirtualService")["spec"] == {
        "hosts": [HOST],
        "http": [
            {
                "name": "tracks",
                "route": [{"destination": {"host": HOST, "subset": "stable", "port": {"number": 80}}, "weight": 100}],
            }
        ],
    }
    selector = {"matchLabels": {"app.kubernetes.io/name": "orders", "app.kubernetes.io/instance": "orders"}}
    assert rendered.get("PeerAuthentication")["apiVersion"] == "security.istio.io/v1"
    assert rendered.get("PeerAuthentication")["spec"] == {"selector": selector, "mtls": {"mode": "STRICT"}}
    assert rendered.get("AuthorizationPolicy")["spec"] == {
        "selector": selector,
        "action": "ALLOW",
        "rules": [{"from": [{"source": {"principals": ["*"]}}]}],
    }
    assert rendered.pod()["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"


def test_hosts_and_gateway_route_ingress_and_mesh_alike(make, render):
    spec = render(make(istio={"hosts": ["orders.example.com"], "gateway": "istio-system/public"})).get(
        "VirtualService"
    )["spec"]

    assert spec["hosts"] == ["orders.example.com", HOST]
    assert spec["gateways"] == ["istio-system/public", "mesh"]


def test_the_service_host_is_not_listed_twice(make, render):
    spec = render(make(istio={"hosts": [HOST, "orders"]})).get("VirtualService")["spec"]

    assert spec["hosts"] == [HOST, "orders"]


def test_mtls_mode_and_principals_follow_the_spec(make, render):
    principals = ["cluster.local/ns/shop/sa/checkout"]
    rendered = render(make(istio={"mtlsMode": "PERMISSIVE", "allowedPrincipals": principals}))

    assert rendered.get("PeerAuthentication")["spec"]["mtls"] == {"mode": "PERMISSIVE"}
    assert rendered.get("AuthorizationPolicy")["spec"]["rules"] == [{"from": [{"source": {"principals": principals}}]}]


@pytest.mark.parametrize(
    ("canary", "observed", "expected"),
    [
        (None, Observed(), [("stable", 100)]),
        (CANARY, Observed(), [("stable", 100)]),
        (CANARY, Observed(canary_weight=40), [("stable", 100)]),
        (None, Observed(canary_active=True, canary_weight=40), [("stable", 100)]),
        (CANARY, Observed(canary_active=True), [("stable", 100), ("canary", 0)]),
        (CANARY, Observed(canary_active=True, canary_weight=40), [("stable", 60), ("canary", 40)]),
        (CANARY, Observed(canary_active=True, canary_weight=100), [("stable", 0), ("canary", 100)]),
    ],
)
def test_routes_follow_the_running_canary(make, render, canary, observed, expected):
    rendered = render(make(istio={}, canary=canary) if canary else make(istio={}), observed)

    assert routes(rendered) == expected
    assert rendered.has("Deployment", "orders-canary") == (len(expected) == 2)


CANARY_RESOURCE = ApiBaseResource.model_validate(
    {
        "metadata": {"name": "orders", "namespace": "shop"},
        "spec": {"image": "ghcr.io/acme/orders:1.4.2", "istio": {}, "canary": CANARY},
    }
)


@given(weight=st.integers(min_value=0, max_value=100), active=st.booleans())
def test_weights_always_sum_to_100_and_are_never_all_zero(weight, active):
    (virtual_service,) = [
        obj
        for obj in desired_objects(CANARY_RESOURCE, Observed(canary_weight=weight, canary_active=active))
        if obj["kind"] == "VirtualService"
    ]
    weights = [route["weight"] for route in virtual_service["spec"]["http"][0]["route"]]

    assert sum(weights) == 100
    assert all(0 <= w <= 100 for w in weights)
    assert weights == ([100 - weight, weight] if active else [100])


@pytest.mark.parametrize("weight", [-1, 101])
def test_route_weights_refuse_impossible_weights(weight):
    with pytest.raises(ValueError, match="between 0 and 100"):
        route_weights(weight)


@pytest.mark.parametrize(
    ("dapr", "istio", "held"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_hold_application_until_proxy_starts_only_with_both_sidecars(make, render, dapr, istio, held):
    spec = {**({"dapr": {}} if dapr else {}), **({"istio": {}} if istio else {})}
    annotations = render(make(**spec)).pod_annotations()

    assert ("proxy.istio.io/config" in annotations) == held
    assert ("traffic.sidecar.istio.io/excludeInboundPorts" in annotations) == held
    assert ("traffic.sidecar.istio.io/excludeOutboundPorts" in annotations) == held
    if held:
        assert json.loads(annotations["proxy.istio.io/config"]) == {"holdApplicationUntilProxyStarts": True}
        assert annotations["traffic.sidecar.istio.io/excludeInboundPorts"] == "3500,50001"
        assert annotations["traffic.sidecar.istio.io/excludeOutboundPorts"] == "50001"


def test_with_both_sidecars_dapr_config_stays_the_users(make, render):
    with_config = render(make(dapr={"config": "tracing"}, istio={})).pod_annotations()
    without = render(make(dapr={}, istio={})).pod_annotations()

    assert with_config["dapr.io/config"] == "tracing"
    assert "dapr.io/config" not in without
