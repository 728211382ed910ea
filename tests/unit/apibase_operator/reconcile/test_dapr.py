from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit

COMPONENTS = [
    {
        "name": "pubsub",
        "type": "pubsub.redis",
        "version": "v1",
        "metadata": [
            {"name": "redisHost", "value": "redis:6379"},
            {"name": "redisPassword", "secretKeyRef": {"name": "redis", "key": "password"}},
            {"name": "enableTLS"},
        ],
    },
    {"name": "statestore", "type": "state.redis"},
]


@pytest.mark.parametrize("dapr", [None, {"enabled": False, "components": COMPONENTS}])
def test_no_dapr_means_no_annotations_and_no_components(make, render, dapr):
    rendered = render(make(dapr=dapr) if dapr else make())

    assert not any(key.startswith("dapr.io/") for key in rendered.pod_annotations())
    assert not [obj for obj in rendered.objects if obj["kind"] == "Component"]


def test_sidecar_annotations_default_to_the_name_and_port(make, render):
    assert render(make(port=8080, dapr={})).pod_annotations() == {
        "dapr.io/enabled": "true",
        "dapr.io/app-id": "orders",
        "dapr.io/app-port": "8080",
        "dapr.io/app-protocol": "http",
        "dapr.io/log-level": "info",
    }


def test_sidecar_annotations_follow_the_spec(make, render):
    dapr = {"appId": "orders-api", "appPort": 9000, "appProtocol": "grpc", "logLevel": "debug", "config": "tracing"}

    assert render(make(dapr=dapr)).pod_annotations() == {
        "dapr.io/enabled": "true",
        "dapr.io/app-id": "orders-api",
        "dapr.io/app-port": "9000",
        "dapr.io/app-protocol": "grpc",
        "dapr.io/log-level": "debug",
        "dapr.io/config": "tracing",
    }


def test_one_component_per_declared_component_scoped_to_the_app(make, render):
    rendered = render(make(dapr={"appId": "orders-api", "components": COMPONENTS}))
    pubsub, state = rendered.get("Component", "pubsub"), rendered.get("Component", "statestore")

    assert pubsub["apiVersion"] == "dapr.io/v1alpha1"
    assert pubsub["spec"] == {
        "type": "pubsub.redis",
        "version": "v1",
        "metadata": [
            {"name": "redisHost", "value": "redis:6379"},
            {"name": "redisPassword", "secretKeyRef": {"name": "redis", "key": "password"}},
            {"name": "enableTLS", "value": ""},
        ],
    }
    assert pubsub["scopes"] == ["orders-api"]
    assert state["spec"] == {"type": "state.redis", "version": "v1", "metadata": []}
    assert state["metadata"]["labels"]["app.kubernetes.io/component"] == "dapr"
