"""The Helm charts in charts/: linted, rendered and every rendered object validated, with a real helm (v4).

For each chart, with its default values and with every ``ci/*.yaml``:

- ``helm lint --strict`` passes and the NOTES render (``helm install --dry-run=client``, offline);
- core kinds are valid for Kubernetes 1.31 (kubernetes-validate, strict: unknown fields are errors), ApiBases
  against the generated CRD and the operator's models, Dapr Components against the operator's schema, the
  ServiceMonitor against the Prometheus Operator fields it uses;
- every object carries the recommended labels.

Then what each chart promises: the CRD is exactly the generated one (kept on uninstall, optional), RBAC is
the operator's needs and nothing more, the operator runs hardened with arguments its CLI accepts, the schema
refuses bad values, the README documents every value, and the ApiBase the apibase chart renders is the one of
the samples and turns into valid objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from typer.main import get_command

from apibase_operator import API_VERSION, GROUP, KIND, PLURAL
from apibase_operator.cli import cli
from apibase_operator.crd.models import ApiBaseResource
from apibase_operator.crd.schema import CRD_PATH, validate_against_crd
from apibase_operator.kube.kinds import MANAGED_KINDS
from apibase_operator.reconcile import Observed, desired_objects
from apibase_operator.reconcile.schemas import schema_for
from apibase_operator.reconcile.validation import validate_objects

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[4]
CHARTS = ROOT / "charts"
KUBERNETES_VERSION = "1.31"
OPERATOR, SERVICE = "apibase-operator", "apibase"
CHART_NAMES = (OPERATOR, SERVICE)
GENERATED_CRD = ROOT / CRD_PATH
CRD_COPY = CHARTS / OPERATOR / "files" / GENERATED_CRD.name
KEEP = {"helm.sh/resource-policy": "keep"}
RBAC_KINDS = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}

type Obj = dict[str, Any]


def _cases() -> list[Any]:
    cases = []
    for chart in CHART_NAMES:
        cases.append(pytest.param(chart, (), id=f"{chart}-defaults"))
        cases += [
            pytest.param(chart, (f"ci/{path.name}",), id=f"{chart}-{path.stem}")
            for path in sorted((CHARTS / chart / "ci").glob("*.yaml"))
        ]
    return cases


CASES = _cases()


def _chart_yaml(chart: str) -> Obj:
    return yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text(encoding="utf-8"))


def _of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def _one(objects: list[Obj], kind: str) -> Obj:
    found = _of_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def _describe(obj: Obj) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


# -- lint, NOTES ----------------------------------------------------------------------------------------------------


def test_both_charts_have_ci_values() -> None:
    names = {chart: {path.name for path in (CHARTS / chart / "ci").glob("*.yaml")} for chart in CHART_NAMES}
    assert {"default-values.yaml", "namespaced-values.yaml", "servicemonitor-values.yaml"} <= names[OPERATOR]
    assert {"minimal-values.yaml", "full-values.yaml"} <= names[SERVICE]


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_lint_strict(helm, chart: str, values: tuple[str, ...]) -> None:
    files = [str(CHARTS / chart / path) for path in values]
    result = helm.run("lint", "--strict", str(CHARTS / chart), *helm.value_args(files))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_notes_render(helm, chart: str, values: tuple[str, ...]) -> None:
    result = helm.run("install", "--dry-run=client", *helm.template_args(chart, values, kube_version=None))
    assert result.returncode == 0, result.stderr
    notes = result.stdout.partition("NOTES:")[2]
    release, namespace = helm.releases[chart]
    assert release in notes
    assert namespace in notes


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_kubernetes_older_than_1_31_is_refused(helm, chart: str) -> None:
    result = helm.run("template", *helm.template_args(chart, kube_version="1.30.9"))
    assert result.returncode != 0
    assert "requires kubeVersion: >=1.31.0-0" in result.stderr


# -- every rendered object is valid --------------------------------------------------------------------------------

_DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
#: The monitoring.coreos.com/v1 ServiceMonitor fields the chart uses, required where the CRD requires them.
SERVICE_MONITOR_SCHEMA: Obj = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "namespace", "labels"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "namespace": {"type": "string", "minLength": 1},
                "labels": _STRING_MAP,
                "annotations": _STRING_MAP,
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["matchLabels"],
                    "properties": {"matchLabels": {**_STRING_MAP, "minProperties": 1}},
                },
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["port"],
                        "properties": {
                            "port": {"type": "string", "minLength": 1},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": _DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": _DURATION},
                        },
                    },
                },
            },
        },
    },
}


def _schema_problems(obj: Obj, schema: Mapping[str, object]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(obj)]


def _problems(obj: Obj) -> list[str]:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if (api_version, kind) == (API_VERSION, KIND):
        problems = validate_against_crd(obj)
        if not problems:  # the rules the CRD cannot check: the operator's models
            try:
                ApiBaseResource.model_validate(obj)
            except ValueError as error:
                problems = [str(error)]
        return problems
    if (api_version, kind) == ("monitoring.coreos.com/v1", "ServiceMonitor"):
        return _schema_problems(obj, SERVICE_MONITOR_SCHEMA)
    if (schema := schema_for(str(api_version), str(kind))) is not None:  # Dapr and Istio kinds
        return _schema_problems(obj, schema)
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no Kubernetes {KUBERNETES_VERSION} schema for {api_version} {kind}"]
    return []


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_rendered_objects_are_valid(helm, chart: str, values: tuple[str, ...]) -> None:
    objects = helm.template(chart, values)
    assert objects
    problems = [f"{_describe(obj)}: {problem}" for obj in objects for problem in _problems(obj)]
    assert problems == []


_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
RECOMMENDED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)


def _label_problems(where: str, labels: Mapping[str, str], chart: str, release: str) -> Iterator[str]:
    metadata = _chart_yaml(chart)
    expected = {
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": f"{chart}-{metadata['version']}",
    }
    for key in RECOMMENDED_LABELS:
        value = labels.get(key)
        if not value:
            yield f"{where}: no {key} label"
        elif key in expected and value != expected[key]:
            yield f"{where}: {key}={value}, expected {expected[key]}"
    for key, value in labels.items():
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            yield f"{where}: label {key}={value!r} is not a valid label value"


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_every_object_has_the_recommended_labels(helm, chart: str, values: tuple[str, ...]) -> None:
    release, _ = helm.releases[chart]
    problems = []
    for obj in helm.template(chart, values):
        problems += _label_problems(_describe(obj), obj["metadata"].get("labels") or {}, chart, release)
        if obj["kind"] == "Deployment":
            pod_labels = obj["spec"]["template"]["metadata"]["labels"]
            problems += _label_problems(f"{_describe(obj)} pods", pod_labels, chart, release)
    assert problems == []


# -- the CRD -----------------------------------------------------------------------------------------------------


def test_chart_crd_copy_is_the_generated_crd() -> None:
    assert CRD_COPY.read_bytes() == GENERATED_CRD.read_bytes(), (
        f"{CRD_COPY.relative_to(ROOT)} differs from {CRD_PATH}: cp {CRD_PATH} {CRD_COPY.relative_to(ROOT)}"
    )


def test_crd_template_renders_the_generated_crd_kept_on_uninstall(helm) -> None:
    crd = _one(helm.template(OPERATOR), "CustomResourceDefinition")
    expected = yaml.safe_load(GENERATED_CRD.read_text(encoding="utf-8"))
    expected["metadata"]["annotations"] = KEEP
    expected["metadata"]["labels"] = crd["metadata"]["labels"]  # checked with every object's labels
    assert crd == expected


def test_crd_keep_annotation_can_be_turned_off(helm) -> None:
    crd = _one(helm.template(OPERATOR, sets=("crds.keep=false",)), "CustomResourceDefinition")
    assert "annotations" not in crd["metadata"]
    generated = yaml.safe_load(GENERATED_CRD.read_text(encoding="utf-8"))
    assert crd["spec"] == generated["spec"]


def test_crd_is_left_out_without_crds_install(helm) -> None:
    objects = helm.template(OPERATOR, sets=("crds.install=false",))
    assert _of_kind(objects, "CustomResourceDefinition") == []
    assert _of_kind(objects, "Deployment")


# -- RBAC --------------------------------------------------------------------------------------------------------

type Grants = dict[tuple[str, str], set[str]]

#: What the operator does with every kind it owns: list and watch (kube/cache.py), read a miss, apply, prune.
_OWNED_VERBS = {"get", "list", "watch", "create", "patch", "delete"}
#: kopf: namespaces and CRDs are cluster-scoped, so these are in a ClusterRole in both modes.
CLUSTER_GRANTS: Grants = {
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    ("", "namespaces"): {"list", "watch"},
}


def _namespaced_grants() -> Grants:
    """The operator's needs in a namespace, derived from its code: a new managed kind needs a new rule."""
    grants: Grants = {(kind.api_version.rpartition("/")[0], kind.plural): set(_OWNED_VERBS) for kind in MANAGED_KINDS}
    grants[GROUP, PLURAL] = {"get", "list", "watch", "patch"}  # kopf: watch, annotations, finalizer
    grants[GROUP, f"{PLURAL}/status"] = {"patch"}
    grants[GROUP, f"{PLURAL}/finalizers"] = {"update"}  # blockOwnerDeletion owner references
    grants["", "events"] = {"create"}
    grants["", "serviceaccounts/token"] = {"create"}  # the workload's own token for Vault (vault/credentials.py)
    return grants


def _grants(role: Obj) -> Grants:
    grants: Grants = {}
    for rule in role["rules"]:
        assert set(rule) <= {"apiGroups", "resources", "verbs"}, f"{_describe(role)}: {rule}"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                grants.setdefault((group, resource), set()).update(rule["verbs"])
    return grants


def _named(objects: list[Obj], kind: str, name: str, namespace: str | None = None) -> Obj:
    found = [
        obj
        for obj in _of_kind(objects, kind)
        if obj["metadata"]["name"] == name and obj["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, f"expected {kind} {namespace}/{name}"
    return found[0]


@pytest.mark.parametrize(("chart", "values"), CASES)
def test_rbac_has_no_wildcards(helm, chart: str, values: tuple[str, ...]) -> None:
    for role in (obj for obj in helm.template(chart, values) if obj["kind"] in {"ClusterRole", "Role"}):
        for rule in role["rules"]:
            fields = [*rule.get("apiGroups", []), *rule.get("resources", []), *rule.get("verbs", [])]
            assert not any("*" in field for field in fields), f"{_describe(role)}: {rule}"
            assert "nonResourceURLs" not in rule
            assert "resourceNames" not in rule or "*" not in rule["resourceNames"]


def _assert_bound(objects: list[Obj], binding: Obj, role_kind: str, role_name: str) -> None:
    service_account = _one(objects, "ServiceAccount")["metadata"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name}
    subject = {"kind": "ServiceAccount", "name": service_account["name"], "namespace": service_account["namespace"]}
    assert binding["subjects"] == [subject]


def test_clusterwide_rbac_is_exactly_what_the_operator_uses(helm) -> None:
    objects = helm.template(OPERATOR)
    role = _one(objects, "ClusterRole")
    assert _grants(role) == _namespaced_grants() | CLUSTER_GRANTS
    assert _of_kind(objects, "Role") == []
    assert _of_kind(objects, "RoleBinding") == []
    _assert_bound(objects, _one(objects, "ClusterRoleBinding"), "ClusterRole", role["metadata"]["name"])


def test_namespaced_rbac_grants_per_namespace(helm) -> None:
    objects = helm.template(OPERATOR, ("ci/namespaced-values.yaml",))
    values = yaml.safe_load((CHARTS / OPERATOR / "ci" / "namespaced-values.yaml").read_text(encoding="utf-8"))
    _, release_namespace = helm.releases[OPERATOR]
    cluster_role = _one(objects, "ClusterRole")
    assert _grants(cluster_role) == CLUSTER_GRANTS  # nothing namespaced cluster-wide
    _assert_bound(objects, _one(objects, "ClusterRoleBinding"), "ClusterRole", cluster_role["metadata"]["name"])
    name = cluster_role["metadata"]["name"]
    for namespace in values["watchNamespaces"]:
        assert _grants(_named(objects, "Role", name, namespace)) == _namespaced_grants()
        _assert_bound(objects, _named(objects, "RoleBinding", name, namespace), "Role", name)
    hash_key = _named(objects, "Role", f"{name}-hash-key", release_namespace)
    assert _grants(hash_key) == {("", "secrets"): {"get", "create"}}  # apibase_operator/hash_key.py
    _assert_bound(
        objects,
        _named(objects, "RoleBinding", hash_key["metadata"]["name"], release_namespace),
        "Role",
        hash_key["metadata"]["name"],
    )
    assert len(_of_kind(objects, "Role")) == len(values["watchNamespaces"]) + 1


def test_no_hash_key_role_when_the_release_namespace_is_watched(helm) -> None:
    _, release_namespace = helm.releases[OPERATOR]
    objects = helm.template(OPERATOR, sets=(f"watchNamespaces={{shop,{release_namespace}}}",))
    assert sorted(role["metadata"]["namespace"] for role in _of_kind(objects, "Role")) == sorted(
        ["shop", release_namespace]
    )


def test_no_rbac_objects_without_rbac_create(helm) -> None:
    objects = helm.template(OPERATOR, ("ci/metrics-disabled-values.yaml",))
    assert [obj for obj in objects if obj["kind"] in RBAC_KINDS] == []
    assert _of_kind(objects, "ServiceAccount") == []
    pod = _one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "apibase-operator"


# -- the operator Deployment, metrics Service, ServiceMonitor ------------------------------------------------------


def _container(objects: list[Obj]) -> Obj:
    containers = _one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _run_params(args: list[str]) -> dict[str, Any]:
    """The arguments as the operator's real CLI parses them (``apibase-operator run ...``)."""
    assert args[0] == "run"
    run = get_command(cli).commands["run"]
    with run.make_context("run", list(args[1:])) as context:
        return dict(context.params)


def test_operator_deployment_defaults(helm) -> None:
    objects = helm.template(OPERATOR)
    deployment = _one(objects, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}  # standalone kopf: never two operators at once
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    pod = spec["template"]["spec"]
    container = _container(objects)
    app_version = _chart_yaml(OPERATOR)["appVersion"]
    assert container["image"] == f"ghcr.io/apibase/apibase-operator:{app_version}"
    assert "command" not in container  # the image's entrypoint is apibase-operator
    params = _run_params(container["args"])
    assert params["liveness"] == "http://0.0.0.0:8080/healthz"
    assert params["metrics_port"] == 9090
    assert not params["namespace"]  # cluster-wide

    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"health": 8080, "metrics": 9090}
    probe = container["livenessProbe"]["httpGet"]
    assert (probe["path"], probe["port"]) == ("/healthz", "health")
    assert {"requests", "limits"} <= container["resources"].keys()

    env = {item["name"]: item for item in container["env"]}
    assert env["APIBASE_OPERATOR_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    fullname = deployment["metadata"]["name"]
    assert env["APIBASE_OPERATOR_HASH_KEY_SECRET"]["value"] == f"{fullname}-hash-key"
    assert env["APIBASE_OPERATOR_VAULT_AUDIENCE"]["value"] == "vault"
    assert env["APIBASE_OPERATOR_RESYNC_SECONDS"]["value"] == "60"
    assert "APIBASE_OPERATOR_VAULT_MOUNTS" not in env  # empty lists: the variables are unset (allow all)
    assert "APIBASE_OPERATOR_VAULT_ADDRESSES" not in env

    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    tmp = mounts["/tmp"]  # noqa: S108 - a path inside the container
    assert {"name": tmp, "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert pod["serviceAccountName"] == _one(objects, "ServiceAccount")["metadata"]["name"]


def test_operator_deployment_namespaced_with_vault_policy(helm) -> None:
    container = _container(helm.template(OPERATOR, ("ci/namespaced-values.yaml",)))
    assert container["image"].endswith("@sha256:" + "0123456789abcdef" * 4)
    assert _run_params(container["args"])["namespace"] == ["shop", "payments"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["APIBASE_OPERATOR_VAULT_MOUNTS"] == "secret,kv/shop"
    assert env["APIBASE_OPERATOR_VAULT_ADDRESSES"] == "https://vault.vault.svc:8200"
    assert env["APIBASE_OPERATOR_RESYNC_SECONDS"] == "30"
    assert env["APIBASE_OPERATOR_HASH_KEY_SECRET"] == "operator-hmac-key"
    assert env["APIBASE_OPERATOR_VAULT_AUDIENCE"] == "vault.example.com"
    assert env["TZ"] == "UTC"


def test_metrics_off_means_no_port_and_no_service(helm) -> None:
    objects = helm.template(OPERATOR, ("ci/metrics-disabled-values.yaml",))
    container = _container(objects)
    assert _run_params(container["args"])["metrics_port"] == 0
    assert [port["name"] for port in container["ports"]] == ["health"]
    assert _of_kind(objects, "Service") == []
    assert _one(objects, "Deployment")["spec"]["replicas"] == 0


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(int(number) * units[unit] for number, unit in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", duration))


@pytest.mark.parametrize(
    ("values", "service_port"),
    [pytest.param((), 9090, id="defaults"), pytest.param(("ci/servicemonitor-values.yaml",), 8443, id="custom")],
)
def test_metrics_service_and_service_monitor_select_the_operator(
    helm, values: tuple[str, ...], service_port: int
) -> None:
    objects = helm.template(OPERATOR, values)
    pod_template = _one(objects, "Deployment")["spec"]["template"]
    container_ports = {port["name"] for port in _container(objects)["ports"]}
    service = _one(objects, "Service")
    assert service["spec"]["selector"].items() <= pod_template["metadata"]["labels"].items()
    [port] = service["spec"]["ports"]
    assert (port["name"], port["port"], port["targetPort"]) == ("metrics", service_port, "metrics")
    assert port["targetPort"] in container_ports
    monitors = _of_kind(objects, "ServiceMonitor")
    if not values:
        assert monitors == []  # off by default: the CRD may not exist
        return
    [monitor] = monitors
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [helm.releases[OPERATOR][1]]}
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] == port["name"]
    assert endpoint["path"] == "/metrics"
    assert _seconds(endpoint["scrapeTimeout"]) <= _seconds(endpoint["interval"])
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert _run_params(_container(objects)["args"])["metrics_port"] == 9191


# -- the apibase chart -------------------------------------------------------------------------------------------


def _apibase(helm, values: tuple[str, ...] = (), sets: tuple[str, ...] = ()) -> Obj:
    return _one(helm.template(SERVICE, values, sets), KIND)


def _spec_of(document: Obj) -> dict[str, object]:
    """The spec as the operator reads it: defaults filled in, so equal specs mean equal behaviour."""
    return ApiBaseResource.model_validate(document).spec.model_dump()


@pytest.mark.parametrize(
    ("values", "sample"),
    [
        pytest.param(("ci/minimal-values.yaml",), "apibase-minimal.yaml", id="minimal"),
        pytest.param((), "apibase-minimal.yaml", id="defaults"),
        pytest.param(("ci/full-values.yaml",), "apibase-full.yaml", id="full"),
    ],
)
def test_apibase_is_the_sample(helm, values: tuple[str, ...], sample: str) -> None:
    expected = yaml.safe_load((ROOT / "manifests" / "samples" / sample).read_text(encoding="utf-8"))
    assert _spec_of(_apibase(helm, values)) == _spec_of(expected)


@pytest.mark.parametrize(("chart", "values"), [case for case in CASES if case.values[0] == SERVICE])
def test_operator_turns_the_apibase_into_valid_objects(helm, chart: str, values: tuple[str, ...]) -> None:
    resource = ApiBaseResource.model_validate(_apibase(helm, values))
    objects = desired_objects(resource, Observed())
    assert objects
    assert validate_objects(objects) == []


def test_apibase_metadata(helm) -> None:
    apibase = _apibase(helm, ("ci/full-values.yaml",))
    assert apibase["metadata"]["name"] == "orders"
    assert apibase["metadata"]["namespace"] == helm.releases[SERVICE][1]
    assert apibase["metadata"]["annotations"] == {"example.com/owner": "shop-team"}
    assert apibase["metadata"]["labels"]["app.kubernetes.io/version"] == "1.4.2"
    assert apibase["metadata"]["labels"]["team"] == "shop"
    digest = _apibase(helm, ("ci/vault-token-values.yaml",))
    assert digest["metadata"]["labels"]["app.kubernetes.io/version"] == "sha256-0123456789ab"
    assert digest["spec"]["vault"]["auth"] == {"tokenSecret": {"name": "vault-token", "key": "token"}}
    assert digest["spec"]["canary"]["image"].startswith("registry.example.com:5000/team/billing-next@sha256:")
    assert digest["spec"]["dapr"]["appPort"] == 9000


def test_disabled_sections_are_left_out(helm) -> None:
    spec = _apibase(helm)["spec"]
    assert not {"autoscaling", "dapr", "istio", "canary", "vault", "env", "serviceAccountName"} & spec.keys()


def test_canary_image_defaults_to_the_service_repository(helm) -> None:
    sets = ("canary.enabled=true", "canary.image.tag=v2")
    assert _apibase(helm, sets=sets)["spec"]["canary"]["image"] == "ghcr.io/acme/hello:v2"


def test_extra_dapr_components(helm) -> None:
    objects = helm.template(SERVICE, ("ci/full-values.yaml",))
    components = {obj["metadata"]["name"]: obj for obj in _of_kind(objects, "Component")}
    assert set(components) == {"orders-ratelimit", "orders-secrets"}
    assert components["orders-ratelimit"]["scopes"] == ["orders"]  # the app id by default
    assert components["orders-ratelimit"]["spec"]["type"] == "middleware.http.ratelimit"
    assert components["orders-secrets"]["scopes"] == ["orders", "checkout"]
    assert components["orders-secrets"]["spec"]["initTimeout"] == "10s"
    assert components["orders-secrets"]["spec"]["ignoreErrors"] is True
    assert all(obj["metadata"]["namespace"] == helm.releases[SERVICE][1] for obj in components.values())
    assert _of_kind(helm.template(SERVICE), "Component") == []


# -- values.schema.json and the failures the templates report ------------------------------------------------------


@pytest.mark.parametrize(
    ("chart", "sets", "message"),
    [
        pytest.param(OPERATOR, ("replicaCount=two",), "/replicaCount", id="operator-replicas-not-a-number"),
        pytest.param(SERVICE, ("replicaCount=two",), "/replicaCount", id="service-replicas-not-a-number"),
        pytest.param(OPERATOR, ("replicaCount=2",), "/replicaCount", id="operator-two-replicas"),
        pytest.param(OPERATOR, ("unknown=1",), "'unknown' not allowed", id="operator-unknown-key"),
        pytest.param(SERVICE, ("istio.mtls=STRICT",), "'mtls' not allowed", id="service-unknown-key"),
        pytest.param(OPERATOR, ("watchNamespaces={Shop}",), "/watchNamespaces/0", id="namespace-not-a-label"),
        pytest.param(OPERATOR, ("metrics.serviceMonitor.interval=often",), "/interval", id="bad-duration"),
        pytest.param(OPERATOR, ("image.pullPolicy=Sometimes",), "/image/pullPolicy", id="bad-pull-policy"),
        pytest.param(
            OPERATOR,
            ("metrics.enabled=false", "metrics.serviceMonitor.enabled=true"),
            "needs metrics.enabled",
            id="service-monitor-without-metrics",
        ),
        pytest.param(
            OPERATOR, ("serviceAccount.create=false",), "serviceAccount.name is required", id="no-service-account"
        ),
        pytest.param(SERVICE, ("image.repository=Acme/Orders",), "/image/repository", id="bad-repository"),
        pytest.param(SERVICE, ("port=70000",), "/port", id="bad-port"),
        pytest.param(SERVICE, ("dapr.logLevel=verbose",), "/dapr/logLevel", id="bad-dapr-log-level"),
        pytest.param(SERVICE, ("dapr.appTokenSecret=Token",), "/dapr/appTokenSecret", id="bad-app-token-secret"),
        pytest.param(
            SERVICE,
            ("env[0].name=A", "env[0].value=b", "env[0].secretKeyRef.name=s", "env[0].secretKeyRef.key=k"),
            "/env/0",
            id="env-value-and-secret",
        ),
        pytest.param(
            SERVICE,
            ("autoscaling.enabled=true", "autoscaling.minReplicas=5", "autoscaling.maxReplicas=3"),
            "must not exceed autoscaling.maxReplicas",
            id="min-above-max",
        ),
        pytest.param(
            SERVICE,
            ("canary.enabled=true", "canary.image.tag=v2", "canary.steps={10,5}"),
            "canary.steps must increase",
            id="steps-not-increasing",
        ),
        pytest.param(SERVICE, ("canary.enabled=true",), "canary.image.tag or canary.image.digest", id="no-canary-tag"),
        pytest.param(
            SERVICE,
            (
                "canary.enabled=true",
                "canary.image.tag=v2",
                "canary.analysis.enabled=true",
                "canary.analysis.prometheusUrl=http://prometheus:9090",
                "canary.analysis.query=up",
            ),
            "maxValue, canary.analysis.minValue or both",
            id="analysis-without-bounds",
        ),
        pytest.param(
            SERVICE,
            (
                "vault.enabled=true",
                "vault.address=https://vault:8200",
                "vault.paths[0].path=a",
                "vault.paths[0].keys.k=K",
            ),
            "vault.auth.kubernetes.role or vault.auth.tokenSecret.name",
            id="vault-without-auth",
        ),
        pytest.param(
            SERVICE,
            (
                "vault.enabled=true",
                "vault.address=https://vault:8200",
                "vault.paths[0].path=a",
                "vault.paths[0].keys.k=K",
                "vault.auth.kubernetes.role=r",
                "vault.auth.tokenSecret.name=t",
                "vault.auth.tokenSecret.key=k",
            ),
            "not both",
            id="vault-with-two-auths",
        ),
        pytest.param(SERVICE, ("vault.enabled=true",), "/vault/address", id="vault-without-address"),
        pytest.param(
            SERVICE,
            (
                "dapr.components[0].name=cache",
                "dapr.components[0].type=state.redis",
                "extraDaprComponents[0].name=cache",
                "extraDaprComponents[0].type=state.redis",
            ),
            "cache is already a component name",
            id="extra-component-name-taken",
        ),
    ],
)
def test_bad_values_are_refused(helm, chart: str, sets: tuple[str, ...], message: str) -> None:
    with pytest.raises(helm.Error) as error:
        helm.template(chart, sets=sets)
    assert message in str(error.value)


def test_apibase_name_must_be_a_dns_label(helm) -> None:
    args = helm.template_args(SERVICE)
    args[0] = "orders.v2"  # a valid release name, but not a valid Service name
    result = helm.run("template", *args)
    assert result.returncode != 0
    assert "must be a DNS label" in result.stderr


def _object_schemas(node: object, where: str = "#") -> Iterator[tuple[str, Obj]]:
    if isinstance(node, dict):
        if "properties" in node:
            yield where, node
        for key, value in node.items():
            yield from _object_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _object_schemas(value, f"{where}/{index}")


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_values_schema_is_closed_and_accepts_the_defaults(chart: str) -> None:
    schema = json.loads((CHARTS / chart / "values.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    open_objects = [
        where
        for where, node in _object_schemas(schema)
        if node.get("additionalProperties") is not False and not where.endswith(("/if", "/then"))
    ]
    assert open_objects == []
    values = yaml.safe_load((CHARTS / chart / "values.yaml").read_text(encoding="utf-8"))
    assert list(jsonschema.Draft7Validator(schema).iter_errors(values)) == []


# -- README ------------------------------------------------------------------------------------------------------


def _value_keys(node: Mapping[str, object], prefix: str = "") -> Iterator[str]:
    for key, value in node.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, dict):
            yield from _value_keys(value, f"{path}.")


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_readme_documents_every_value(chart: str) -> None:
    readme = (CHARTS / chart / "README.md").read_text(encoding="utf-8")
    values = yaml.safe_load((CHARTS / chart / "values.yaml").read_text(encoding="utf-8"))
    keys = list(_value_keys(values))
    assert len(keys) > 20
    missing = [key for key in keys if f"`{key}`" not in readme and f"`{key}." not in readme]
    assert missing == []


def test_chart_metadata() -> None:
    for chart in CHART_NAMES:
        metadata = _chart_yaml(chart)
        assert (metadata["apiVersion"], metadata["name"]) == ("v2", chart)
        assert (metadata["version"], metadata["appVersion"]) == ("0.1.0", "0.1.0")
        assert (CHARTS / chart / "templates" / "NOTES.txt").is_file()
        assert (CHARTS / chart / "templates" / "_helpers.tpl").is_file()
