"""Every ApiBase spec field either changes the rendered objects as expected or is owned by another component.

The field list is computed from the model, so a new spec field fails :func:`test_every_spec_field_is_covered`
until it gets a case here.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from pydantic import BaseModel

from apibase_operator.crd.models import ApiBaseResource, ApiBaseSpec
from apibase_operator.reconcile import Observed, desired_objects

pytestmark = pytest.mark.unit

HOST = "orders.shop.svc.cluster.local"
BASE_SPEC: dict[str, object] = {
    "image": "ghcr.io/acme/orders:1.4.2",
    "replicas": 3,
    "autoscaling": {"enabled": True},
    "port": 8000,
    "env": [{"name": "PLAIN", "value": "1"}, {"name": "FROM_SECRET", "secretKeyRef": {"name": "db", "key": "url"}}],
    "envFromSecrets": ["config"],
    "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "512Mi"}},
    "probes": {
        "liveness": {"path": "/health/live"},
        "readiness": {"path": "/health/ready"},
        "startup": {"path": "/health/startup"},
    },
    "serviceAccountName": "orders-sa",
    "dapr": {
        "appId": "orders",
        "appPort": 8000,
        "config": "tracing",
        "components": [
            {
                "name": "pubsub",
                "type": "pubsub.redis",
                "metadata": [
                    {"name": "host", "value": "redis:6379"},
                    {"name": "password", "secretKeyRef": {"name": "redis", "key": "password"}},
                ],
            }
        ],
    },
    "istio": {
        "hosts": ["orders.example.com"],
        "gateway": "istio-system/public",
        "allowedPrincipals": ["cluster.local/ns/shop/sa/checkout"],
    },
    "canary": {
        "image": "ghcr.io/acme/orders:1.5.0",
        "analysis": {"prometheusUrl": "http://prometheus:9090", "query": "up", "maxValue": 1.0},
    },
    "vault": {
        "address": "https://vault:8200",
        "auth": {"kubernetes": {"role": "orders"}},
        "paths": [{"path": "orders/db", "keys": {"password": "DB_PASSWORD"}}],
    },
}
OBSERVED = Observed(canary_active=True, canary_weight=30, secret_hash="sha256:abc")

type Objects = list[dict]
type Probe = Callable[[Objects], object]


def get(objects: Objects, kind: str, name: str = "orders") -> dict:
    (match,) = [obj for obj in objects if (obj["kind"], obj["metadata"]["name"]) == (kind, name)]
    return match


def has(kind: str, name: str = "orders") -> Probe:
    return lambda objects: any((obj["kind"], obj["metadata"]["name"]) == (kind, name) for obj in objects)


def container(objects: Objects, deployment: str = "orders") -> dict:
    return get(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]


def pod_annotation(key: str) -> Probe:
    return lambda objects: get(objects, "Deployment")["spec"]["template"]["metadata"].get("annotations", {}).get(key)


@dataclass(frozen=True)
class Case:
    field: str
    path: str
    value: object
    probe: Probe
    expected: object
    given: dict[str, object] = field(default_factory=dict)


def _probe_cases() -> Iterator[Case]:
    probe_names = {"liveness": "livenessProbe", "readiness": "readinessProbe", "startup": "startupProbe"}
    for probe, key in probe_names.items():
        for setting, value in (("periodSeconds", 7), ("timeoutSeconds", 5), ("failureThreshold", 9)):
            yield Case(
                f"probes.{probe}.{setting}",
                f"probes.{probe}.{setting}",
                value,
                lambda objects, key=key, setting=setting: container(objects)[key][setting],
                value,
            )
        yield Case(
            f"probes.{probe}.path",
            f"probes.{probe}.path",
            "/custom",
            lambda objects, key=key: container(objects)[key]["httpGet"]["path"],
            "/custom",
        )


CASES: list[Case] = [
    Case("image", "image", "ghcr.io/acme/orders:2.0.0", lambda o: container(o)["image"], "ghcr.io/acme/orders:2.0.0"),
    Case(
        "replicas",
        "replicas",
        5,
        lambda o: get(o, "Deployment")["spec"]["replicas"],
        5,
        given={"autoscaling.enabled": False},
    ),
    Case("autoscaling.enabled", "autoscaling.enabled", False, has("HorizontalPodAutoscaler"), False),
    Case(
        "autoscaling.minReplicas",
        "autoscaling.minReplicas",
        3,
        lambda o: get(o, "HorizontalPodAutoscaler")["spec"]["minReplicas"],
        3,
    ),
    Case(
        "autoscaling.maxReplicas",
        "autoscaling.maxReplicas",
        12,
        lambda o: get(o, "HorizontalPodAutoscaler")["spec"]["maxReplicas"],
        12,
    ),
    Case(
        "autoscaling.targetCpuUtilizationPercentage",
        "autoscaling.targetCpuUtilizationPercentage",
        55,
        lambda o: get(o, "HorizontalPodAutoscaler")["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        55,
    ),
    Case(
        "port",
        "port",
        9000,
        lambda o: (container(o)["ports"][0]["containerPort"], get(o, "Service")["spec"]["ports"][0]["targetPort"]),
        (9000, 9000),
    ),
    Case("env.name", "env.0.name", "RENAMED", lambda o: container(o)["env"][0]["name"], "RENAMED"),
    Case("env.value", "env.0.value", "2", lambda o: container(o)["env"][0]["value"], "2"),
    Case(
        "env.secretKeyRef.name",
        "env.1.secretKeyRef.name",
        "db2",
        lambda o: container(o)["env"][1]["valueFrom"]["secretKeyRef"]["name"],
        "db2",
    ),
    Case(
        "env.secretKeyRef.key",
        "env.1.secretKeyRef.key",
        "dsn",
        lambda o: container(o)["env"][1]["valueFrom"]["secretKeyRef"]["key"],
        "dsn",
    ),
    Case(
        "envFromSecrets",
        "envFromSecrets",
        ["other"],
        lambda o: container(o)["envFrom"][0],
        {"secretRef": {"name": "other"}},
    ),
    Case(
        "resources.requests",
        "resources.requests",
        {"cpu": "1"},
        lambda o: container(o)["resources"]["requests"],
        {"cpu": "1"},
    ),
    Case(
        "resources.limits",
        "resources.limits",
        {"memory": "2Gi"},
        lambda o: container(o)["resources"]["limits"],
        {"memory": "2Gi"},
    ),
    *_probe_cases(),
    Case(
        "serviceAccountName",
        "serviceAccountName",
        "other-sa",
        lambda o: get(o, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"],
        "other-sa",
    ),
    Case("dapr.enabled", "dapr.enabled", False, pod_annotation("dapr.io/enabled"), None),
    Case(
        "dapr.appId",
        "dapr.appId",
        "orders-api",
        lambda o: (pod_annotation("dapr.io/app-id")(o), get(o, "Component", "pubsub")["scopes"]),
        ("orders-api", ["orders-api"]),
    ),
    Case("dapr.appPort", "dapr.appPort", 9001, pod_annotation("dapr.io/app-port"), "9001"),
    Case("dapr.appProtocol", "dapr.appProtocol", "grpc", pod_annotation("dapr.io/app-protocol"), "grpc"),
    Case("dapr.logLevel", "dapr.logLevel", "debug", pod_annotation("dapr.io/log-level"), "debug"),
    Case("dapr.config", "dapr.config", "other", pod_annotation("dapr.io/config"), "other"),
    Case(
        "dapr.appTokenSecret",
        "dapr.appTokenSecret",
        "app-token",
        lambda o: (pod_annotation("dapr.io/app-token-secret")(o), container(o)["env"][-1].get("valueFrom")),
        ("app-token", {"secretKeyRef": {"name": "app-token", "key": "token"}}),
    ),
    Case(
        "dapr.apiTokenSecret",
        "dapr.apiTokenSecret",
        "api-token",
        lambda o: (pod_annotation("dapr.io/api-token-secret")(o), container(o)["env"][-1].get("valueFrom")),
        ("api-token", {"secretKeyRef": {"name": "api-token", "key": "token"}}),
    ),
    Case(
        "dapr.components.name",
        "dapr.components.0.name",
        "bus",
        lambda o: (has("Component", "bus")(o), {"name": "APIBASE_DAPR__PUBSUB", "value": "bus"} in container(o)["env"]),
        (True, True),
    ),
    Case(
        "dapr.components.type",
        "dapr.components.0.type",
        "pubsub.kafka",
        lambda o: get(o, "Component", "pubsub")["spec"]["type"],
        "pubsub.kafka",
    ),
    Case(
        "dapr.components.version",
        "dapr.components.0.version",
        "v2",
        lambda o: get(o, "Component", "pubsub")["spec"]["version"],
        "v2",
    ),
    Case(
        "dapr.components.metadata.name",
        "dapr.components.0.metadata.0.name",
        "redisHost",
        lambda o: get(o, "Component", "pubsub")["spec"]["metadata"][0]["name"],
        "redisHost",
    ),
    Case(
        "dapr.components.metadata.value",
        "dapr.components.0.metadata.0.value",
        "redis:6380",
        lambda o: get(o, "Component", "pubsub")["spec"]["metadata"][0]["value"],
        "redis:6380",
    ),
    Case(
        "dapr.components.metadata.secretKeyRef.name",
        "dapr.components.0.metadata.1.secretKeyRef.name",
        "cache",
        lambda o: get(o, "Component", "pubsub")["spec"]["metadata"][1]["secretKeyRef"]["name"],
        "cache",
    ),
    Case(
        "dapr.components.metadata.secretKeyRef.key",
        "dapr.components.0.metadata.1.secretKeyRef.key",
        "pw",
        lambda o: get(o, "Component", "pubsub")["spec"]["metadata"][1]["secretKeyRef"]["key"],
        "pw",
    ),
    Case("istio.enabled", "istio.enabled", False, has("VirtualService"), False),
    Case(
        "istio.hosts",
        "istio.hosts",
        ["api.example.com"],
        lambda o: get(o, "VirtualService")["spec"]["hosts"],
        ["api.example.com", HOST],
    ),
    Case(
        "istio.gateway",
        "istio.gateway",
        "ingress/other",
        lambda o: get(o, "VirtualService")["spec"]["gateways"],
        ["ingress/other", "mesh"],
    ),
    Case(
        "istio.mtlsMode",
        "istio.mtlsMode",
        "PERMISSIVE",
        lambda o: get(o, "PeerAuthentication")["spec"]["mtls"]["mode"],
        "PERMISSIVE",
    ),
    Case(
        "istio.allowedPrincipals",
        "istio.allowedPrincipals",
        [],
        lambda o: get(o, "AuthorizationPolicy")["spec"]["rules"][0]["from"][0]["source"]["principals"],
        ["*"],
    ),
    Case(
        "canary.image",
        "canary.image",
        "ghcr.io/acme/orders:1.6.0",
        lambda o: container(o, "orders-canary")["image"],
        "ghcr.io/acme/orders:1.6.0",
    ),
    Case(
        "vault.targetSecret",
        "vault.targetSecret",
        "creds",
        lambda o: container(o)["envFrom"][-1],
        {"secretRef": {"name": "creds"}},
    ),
    Case("vault.restartOnRotation", "vault.restartOnRotation", False, pod_annotation("apibase.dev/secret-hash"), None),
]

#: Fields reconcile does not render: the component that owns each reads it from the spec directly.
OWNED_ELSEWHERE: dict[str, dict[str, object]] = {
    "paused": {"paused": True},  # the handlers skip reconciling altogether
    "canary.steps": {"canary.steps": [5, 100]},  # canary progression decides Observed.canary_weight
    "canary.stepIntervalSeconds": {"canary.stepIntervalSeconds": 300},
    "canary.autoPromote": {"canary.autoPromote": False},
    "canary.analysis.prometheusUrl": {"canary.analysis.prometheusUrl": "http://other:9090"},
    "canary.analysis.query": {"canary.analysis.query": "sum(up)"},
    "canary.analysis.maxValue": {"canary.analysis.maxValue": 0.5},
    "canary.analysis.minValue": {"canary.analysis.minValue": 0.1},
    "vault.address": {"vault.address": "https://other:8200"},  # the Vault sync reads these
    "vault.auth.kubernetes.role": {"vault.auth.kubernetes.role": "other"},
    "vault.auth.kubernetes.mountPath": {"vault.auth.kubernetes.mountPath": "k8s"},
    "vault.auth.tokenSecret.name": {"vault.auth": {"tokenSecret": {"name": "vault-token", "key": "token"}}},
    "vault.auth.tokenSecret.key": {"vault.auth": {"tokenSecret": {"name": "vault-token", "key": "t"}}},
    "vault.mount": {"vault.mount": "kv"},
    "vault.paths.path": {"vault.paths.0.path": "orders/other"},
    "vault.paths.keys": {"vault.paths.0.keys": {"user": "DB_USER"}},
    "vault.refreshIntervalSeconds": {"vault.refreshIntervalSeconds": 60},
}


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def spec_fields(model: type[BaseModel] = ApiBaseSpec, prefix: str = "") -> Iterator[str]:
    """Leaf field paths in wire names, lists without indexes (``env.secretKeyRef.name``)."""
    for name, info in model.model_fields.items():
        path = prefix + (info.alias or name)
        nested = list(_models(info.annotation))
        if not nested:
            yield path
        for sub in nested:
            yield from spec_fields(sub, f"{path}.")


def with_changes(spec: dict[str, object], changes: dict[str, object]) -> dict[str, object]:
    result = copy.deepcopy(spec)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: typing.Any = result
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = copy.deepcopy(value)
    return result


def rendered(spec: dict[str, object]) -> Objects:
    resource = ApiBaseResource.model_validate({"metadata": {"name": "orders", "namespace": "shop"}, "spec": spec})
    return desired_objects(resource, OBSERVED)


def test_every_spec_field_is_covered():
    covered = {case.field for case in CASES} | set(OWNED_ELSEWHERE)

    assert sorted(set(spec_fields()) - covered) == []
    assert sorted(covered - set(spec_fields())) == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.field)
def test_changing_a_field_changes_the_objects(case):
    before = rendered(with_changes(BASE_SPEC, case.given))
    after = rendered(with_changes(BASE_SPEC, {**case.given, case.path: case.value}))

    assert case.probe(before) != case.expected
    assert case.probe(after) == case.expected


@pytest.mark.parametrize("field_name", sorted(OWNED_ELSEWHERE))
def test_fields_owned_elsewhere_do_not_change_the_objects(field_name):
    assert rendered(with_changes(BASE_SPEC, OWNED_ELSEWHERE[field_name])) == rendered(BASE_SPEC)
