from __future__ import annotations

from dataclasses import replace

import pytest

from apibase_operator.reconcile import Observed
from apibase_operator.reconcile.workload import CanaryNotConfiguredError, deployment, pod_template

pytestmark = pytest.mark.unit

CANARY = {"image": "ghcr.io/acme/orders:1.5.0"}
VAULT = {
    "address": "https://vault:8200",
    "auth": {"kubernetes": {"role": "orders"}},
    "paths": [{"path": "orders/db", "keys": {"password": "DB_PASSWORD"}}],
}
RUNNING = Observed(canary_active=True, canary_weight=10)


def test_the_stable_deployment_runs_the_image_with_defaults(make, render):
    rendered = render(make())
    stable = rendered.get("Deployment")
    container = rendered.container()

    assert stable["apiVersion"] == "apps/v1"
    assert stable["spec"]["replicas"] == 2
    assert stable["spec"]["selector"] == {
        "matchLabels": {
            "app.kubernetes.io/name": "orders",
            "app.kubernetes.io/instance": "orders",
            "apibase.dev/track": "stable",
        }
    }
    assert stable["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
    }
    assert container["image"] == "ghcr.io/acme/orders:1.4.2"
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
    assert container["env"] == [{"name": "APIBASE_PORT", "value": "8000"}]
    assert "envFrom" not in container
    assert rendered.pod()["metadata"]["labels"]["apibase.dev/track"] == "stable"
    assert "annotations" not in rendered.pod()["metadata"]


def test_probes_default_to_the_health_endpoints_on_the_port(make, render):
    container = render(make(port=9000)).container()

    assert container["livenessProbe"] == {
        "httpGet": {"path": "/health/live", "port": 9000},
        "periodSeconds": 10,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": 9000}
    assert container["startupProbe"] == {
        "httpGet": {"path": "/health/startup", "port": 9000},
        "periodSeconds": 2,
        "timeoutSeconds": 2,
        "failureThreshold": 60,
    }


def test_the_pods_are_locked_down(make, render):
    rendered = render(make())
    pod_spec = rendered.pod()["spec"]
    container = rendered.container()

    assert pod_spec["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108 - an emptyDir
    assert pod_spec["volumes"] == [{"name": "tmp", "emptyDir": {}}]


def test_env_takes_values_and_secret_keys_in_order(make, render):
    env = [
        {"name": "PLAIN", "value": "1"},
        {"name": "FROM_SECRET", "secretKeyRef": {"name": "db", "key": "url"}},
        {"name": "EMPTY"},
    ]

    assert render(make(env=env)).container()["env"] == [
        {"name": "PLAIN", "value": "1"},
        {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
        {"name": "EMPTY", "value": ""},
        {"name": "APIBASE_PORT", "value": "8000"},
    ]


def test_the_service_listens_on_the_spec_port_unless_the_env_says_otherwise(make, render):
    assert render(make(port=9000)).container()["env"] == [{"name": "APIBASE_PORT", "value": "9000"}]
    own = [{"name": "APIBASE_PORT", "value": "7000"}]
    assert render(make(port=9000, env=own)).container()["env"] == [{"name": "APIBASE_PORT", "value": "7000"}]


def test_env_from_lists_the_secrets_then_the_vault_target(make, render):
    default_target = render(make(envFromSecrets=["a", "b"], vault=VAULT)).container()["envFrom"]
    named_target = render(make(vault={**VAULT, "targetSecret": "creds"})).container()["envFrom"]

    assert default_target == [
        {"secretRef": {"name": "a"}},
        {"secretRef": {"name": "b"}},
        {"secretRef": {"name": "orders-vault"}},
    ]
    assert named_target == [{"secretRef": {"name": "creds"}}]


def test_empty_resources_are_left_out(make, render):
    assert "resources" not in render(make(resources={"requests": {}, "limits": {}})).container()
    assert render(make(resources={"requests": {"cpu": "1"}, "limits": {}})).container()["resources"] == {
        "requests": {"cpu": "1"}
    }


def test_a_dedicated_service_account_unless_the_spec_names_one(make, render):
    own = render(make())
    given = render(make(serviceAccountName="shared"))

    assert own.get("ServiceAccount")["metadata"]["name"] == "orders"
    assert own.pod()["spec"]["serviceAccountName"] == "orders"
    assert not given.has("ServiceAccount")
    assert given.pod()["spec"]["serviceAccountName"] == "shared"


def test_with_autoscaling_the_hpa_owns_the_replica_count(make, render):
    rendered = render(
        make(
            replicas=7,
            autoscaling={"minReplicas": 3, "maxReplicas": 9, "targetCpuUtilizationPercentage": 60},
        )
    )
    hpa = rendered.get("HorizontalPodAutoscaler")

    assert "replicas" not in rendered.get("Deployment")["spec"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders"},
        "minReplicas": 3,
        "maxReplicas": 9,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}},
            }
        ],
    }


def test_disabled_autoscaling_keeps_the_replicas_and_no_hpa(make, render):
    rendered = render(make(replicas=4, autoscaling={"enabled": False}))

    assert rendered.get("Deployment")["spec"]["replicas"] == 4
    assert not rendered.has("HorizontalPodAutoscaler")


@pytest.mark.parametrize(
    ("spec", "budget"),
    [
        ({"replicas": 2}, {"minAvailable": 1}),
        ({"replicas": 5}, {"minAvailable": 1}),
        ({"replicas": 1}, {"maxUnavailable": 1}),
        ({"replicas": 0}, {"maxUnavailable": 1}),
        ({"replicas": 1, "autoscaling": {"minReplicas": 2}}, {"minAvailable": 1}),
        ({"replicas": 5, "autoscaling": {"minReplicas": 1}}, {"maxUnavailable": 1}),
        ({"replicas": 1, "autoscaling": {"enabled": False, "minReplicas": 3}}, {"maxUnavailable": 1}),
    ],
)
def test_the_pdb_never_blocks_a_drain_and_keeps_one_pod_when_there_are_two(make, render, spec, budget):
    pdb = render(make(**spec)).get("PodDisruptionBudget")

    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {
        **budget,
        "selector": {
            "matchLabels": {
                "app.kubernetes.io/name": "orders",
                "app.kubernetes.io/instance": "orders",
                "apibase.dev/track": "stable",
            }
        },
    }


def test_the_canary_deployment_differs_only_in_name_image_replicas_and_track(make, render):
    rendered = render(make(replicas=4, canary=CANARY), RUNNING)
    stable, canary = rendered.get("Deployment"), rendered.get("Deployment", "orders-canary")

    assert canary["spec"]["replicas"] == 1
    assert canary["spec"]["selector"]["matchLabels"]["apibase.dev/track"] == "canary"
    assert canary["metadata"]["labels"]["apibase.dev/track"] == "canary"
    assert canary["metadata"]["labels"]["app.kubernetes.io/version"] == "1.5.0"
    assert rendered.pod("orders-canary")["metadata"]["labels"]["apibase.dev/track"] == "canary"
    assert rendered.container("orders-canary")["image"] == "ghcr.io/acme/orders:1.5.0"
    assert {**rendered.container("orders-canary"), "image": "-"} == {**rendered.container(), "image": "-"}
    assert stable["spec"]["replicas"] == 4


def test_with_autoscaling_the_canary_runs_the_hpa_minimum(make, render):
    rendered = render(make(canary=CANARY, autoscaling={"minReplicas": 3}), RUNNING)

    assert rendered.get("Deployment", "orders-canary")["spec"]["replicas"] == 3
    assert rendered.get("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] == "orders"


def test_a_canary_deployment_needs_a_canary_in_the_spec(make):
    with pytest.raises(CanaryNotConfiguredError):
        deployment(make(), "canary")
    with pytest.raises(CanaryNotConfiguredError):
        pod_template(make(), "canary")


@pytest.mark.parametrize(
    ("vault", "observed", "expected"),
    [
        (VAULT, Observed(secret_hash="sha256:abc"), "sha256:abc"),
        ({**VAULT, "restartOnRotation": True}, Observed(secret_hash="sha256:abc"), "sha256:abc"),
        ({**VAULT, "restartOnRotation": False}, Observed(secret_hash="sha256:abc"), None),
        (VAULT, Observed(), None),
        (None, Observed(secret_hash="sha256:abc"), None),
    ],
)
def test_the_secret_hash_annotation_rolls_the_pods_only_with_restart_on_rotation(
    make, render, vault, observed, expected
):
    spec = {"vault": vault} if vault else {}
    rendered = render(make(**spec, canary=CANARY), replace(observed, canary_active=True))

    for name in ("orders", "orders-canary"):
        assert rendered.pod_annotations(name).get("apibase.dev/secret-hash") == expected


def test_a_rotation_changes_the_pod_template(make, render):
    before = render(make(vault=VAULT), Observed(secret_hash="sha256:1")).pod()
    after = render(make(vault=VAULT), Observed(secret_hash="sha256:2")).pod()

    assert before != after
