"""The operator's kustomize base and overlays: they render, every object is valid, and they say what they must."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from apibase_operator.crd.schema import CRD_PATH, build_crd
from apibase_operator.hash_key import DEFAULT_SECRET_NAME
from apibase_operator.kube.kinds import MANAGED_KINDS
from apibase_operator.vault import DEFAULT_AUDIENCE

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[4]
NAMESPACE = "apibase-system"
SERVICE_ACCOUNT = "apibase-operator"
KUSTOMIZATIONS = ("manifests/base", "manifests/overlays/dev", "manifests/overlays/prod")
OVERLAYS = KUSTOMIZATIONS[1:]
SELECTOR_LABELS = {"app.kubernetes.io/name": "apibase-operator", "app.kubernetes.io/instance": "apibase-operator"}
STANDARD_LABELS = {
    **SELECTOR_LABELS,
    "app.kubernetes.io/component": "operator",
    "app.kubernetes.io/part-of": "apibase",
    "app.kubernetes.io/managed-by": "kustomize",
}
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
#: RBAC verbs that hand out more rights than they name.
ESCALATING_VERBS = {"escalate", "bind", "impersonate", "approve", "sign"}

type Obj = dict[str, Any]
type Render = Callable[[str], list[Obj]]


def one(objects: list[Obj], kind: str) -> Obj:
    found = [obj for obj in objects if obj["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container(objects: list[Obj]) -> Obj:
    containers = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env(objects: list[Obj]) -> dict[str, Obj]:
    return {item["name"]: item for item in container(objects).get("env", [])}


def image_tag(image: str) -> str:
    assert "@" not in image, "digest pins are fine, but then update this test"
    repository, _, tag = image.rpartition(":")
    assert repository, f"{image} has no tag"
    assert "/" not in tag, f"{image} has no tag"
    return tag


def grants(objects: list[Obj]) -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource) → verbs, over every rule of every ClusterRole and Role."""
    granted: dict[tuple[str, str], set[str]] = {}
    for role in (obj for obj in objects if obj["kind"] in {"ClusterRole", "Role"}):
        for rule in role["rules"]:
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


# --- every kustomization ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_every_object_is_valid(
    render: Render, validate_manifest: Callable[[Mapping[str, object]], list[str]], directory: str
) -> None:
    objects = render(directory)
    assert objects
    problems = [problem for obj in objects for problem in validate_manifest(obj)]
    assert problems == []


def test_strict_validation_refuses_unknown_fields(
    render: Render, validate_manifest: Callable[[Mapping[str, object]], list[str]]
) -> None:
    deployment = one(render("manifests/base"), "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    assert validate_manifest(deployment) != []


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_objects(render: Render, directory: str) -> None:
    kinds = sorted(obj["kind"] for obj in render(directory))
    expected = [
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "Deployment",
        "Namespace",
        "Service",
        "ServiceAccount",
    ]
    if directory.endswith("prod"):
        expected = sorted([*expected, "PodDisruptionBudget"])
    assert kinds == expected


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_namespace_and_standard_labels(render: Render, directory: str) -> None:
    objects = render(directory)
    assert one(objects, "Namespace")["metadata"]["name"] == NAMESPACE
    for obj in objects:
        metadata = obj["metadata"]
        if obj["kind"] not in CLUSTER_SCOPED:
            assert metadata.get("namespace") == NAMESPACE, obj["kind"]
        labels = metadata.get("labels", {})
        assert STANDARD_LABELS.items() <= labels.items(), f"{obj['kind']}/{metadata['name']}: {labels}"


@pytest.mark.parametrize("directory", OVERLAYS)
def test_version_label_is_the_image_tag(render: Render, directory: str) -> None:
    objects = render(directory)
    tag = image_tag(container(objects)["image"])
    template_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert template_labels["app.kubernetes.io/version"] == tag
    assert all(obj["metadata"]["labels"]["app.kubernetes.io/version"] == tag for obj in objects)


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_selectors_select_the_operator_pods(render: Render, directory: str) -> None:
    objects = render(directory)
    deployment = one(objects, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selectors = [deployment["spec"]["selector"]["matchLabels"], one(objects, "Service")["spec"]["selector"]]
    selectors += [obj["spec"]["selector"]["matchLabels"] for obj in objects if obj["kind"] == "PodDisruptionBudget"]
    for selector in selectors:
        assert selector == SELECTOR_LABELS  # exactly these: a selector must not change when the version does
        assert selector.items() <= pod_labels.items()


# --- the operator Deployment -----------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_one_replica_replaced_with_recreate(render: Render, directory: str) -> None:
    """kopf runs standalone (no peering): two operator pods would reconcile the same objects at once."""
    spec = one(render(directory), "Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_pod_security(render: Render, directory: str) -> None:
    objects = render(directory)
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "hostNetwork" not in pod
    assert "hostPID" not in pod
    security = container(objects)["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security.get("privileged", False) is False


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_command_probes_and_ports(render: Render, directory: str) -> None:
    """``apibase-operator run`` with kopf's liveness endpoint on :8080/healthz and metrics on :9090."""
    objects = render(directory)
    operator = container(objects)
    assert operator["command"] == ["apibase-operator"]
    assert operator["args"][0] == "run"
    options = dict(arg.removeprefix("--").split("=", 1) for arg in operator["args"][1:])
    assert options == {"liveness": "http://0.0.0.0:8080/healthz", "metrics-port": "9090"}
    ports = {port["name"]: port["containerPort"] for port in operator["ports"]}
    assert ports == {"health": 8080, "metrics": 9090}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        http = operator[probe]["httpGet"]
        assert http["path"] == "/healthz", probe
        assert ports.get(http["port"], http["port"]) == 8080, probe
    service_ports = one(objects, "Service")["spec"]["ports"]
    assert [(port["port"], ports.get(port["targetPort"], port["targetPort"])) for port in service_ports] == [
        (9090, 9090)
    ]


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_image_is_tagged(render: Render, directory: str) -> None:
    assert image_tag(container(render(directory))["image"]) not in {"", "latest"}


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_namespace_comes_from_the_downward_api(render: Render, directory: str) -> None:
    variable = env(render(directory))["APIBASE_OPERATOR_NAMESPACE"]
    assert variable == {
        "name": "APIBASE_OPERATOR_NAMESPACE",
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
    }


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_hash_key_secret_and_vault_audience_are_the_operator_defaults(render: Render, directory: str) -> None:
    variables = env(render(directory))
    assert variables["APIBASE_OPERATOR_HASH_KEY_SECRET"]["value"] == DEFAULT_SECRET_NAME
    assert variables["APIBASE_OPERATOR_VAULT_AUDIENCE"]["value"] == DEFAULT_AUDIENCE


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_runs_as_its_own_service_account(render: Render, directory: str) -> None:
    objects = render(directory)
    assert one(objects, "ServiceAccount")["metadata"]["name"] == SERVICE_ACCOUNT
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == SERVICE_ACCOUNT
    binding = one(objects, "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": one(objects, "ClusterRole")["metadata"]["name"],
    }


# --- RBAC ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_rbac_has_no_wildcards_and_no_escalation(render: Render, directory: str) -> None:
    for role in (obj for obj in render(directory) if obj["kind"] in {"ClusterRole", "Role"}):
        assert "aggregationRule" not in role
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                assert not any("*" in value for value in rule.get(field, [])), f"wildcard in {field}: {rule}"
            assert "nonResourceURLs" not in rule
            assert not ESCALATING_VERBS & set(rule["verbs"]), rule
            assert not any(
                resource.startswith(("pods/", "nodes/")) or resource in {"clusterroles", "roles", "tokenreviews"}
                for resource in rule["resources"]
            ), rule


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_rbac_grants_exactly_what_the_operator_uses(render: Render, directory: str) -> None:
    """Least privilege, both ways: everything the operator calls is granted, and nothing else is."""
    expected: dict[tuple[str, str], set[str]] = {
        ("apibase.dev", "apibases"): {"get", "list", "watch", "patch"},
        ("apibase.dev", "apibases/status"): {"get", "patch"},
        ("apibase.dev", "apibases/finalizers"): {"update"},
        ("", "namespaces"): {"list", "watch"},
        ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
        ("", "events"): {"create"},
        ("", "serviceaccounts/token"): {"create"},  # the workload's own token for Vault (vault/credentials.py)
    }
    for kind in MANAGED_KINDS:
        group = kind.api_version.rpartition("/")[0]
        expected[(group, kind.plural)] = {"get", "list", "watch", "create", "patch", "delete"}  # watch: kube/cache.py
    assert grants(render(directory)) == expected


# --- overlays --------------------------------------------------------------------------------------------------


def test_dev_overlay(render: Render) -> None:
    objects = render("manifests/overlays/dev")
    operator = container(objects)
    assert image_tag(operator["image"]) == "dev"
    assert operator["imagePullPolicy"] == "Always"
    assert env(objects)["APIBASE_OPERATOR_RESYNC_SECONDS"]["value"] == "15"


def test_prod_overlay_pins_the_image_and_sets_resources(render: Render) -> None:
    objects = render("manifests/overlays/prod")
    operator = container(objects)
    tag = image_tag(operator["image"])
    assert tag.count(".") == 2
    assert all(part.isdigit() for part in tag.split("."))
    assert operator["imagePullPolicy"] == "IfNotPresent"
    resources = operator["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert "memory" in resources["limits"]


def test_prod_overlay_sets_the_vault_policy(render: Render) -> None:
    variables = env(render("manifests/overlays/prod"))
    addresses = variables["APIBASE_OPERATOR_VAULT_ADDRESSES"]["value"].split(",")
    mounts = variables["APIBASE_OPERATOR_VAULT_MOUNTS"]["value"].split(",")
    assert addresses
    assert all(address.strip().startswith("https://") for address in addresses)
    assert mounts
    assert all(mount.strip() for mount in mounts)
    full = yaml.safe_load((REPO / "manifests/samples/apibase-full.yaml").read_text(encoding="utf-8"))
    assert full["spec"]["vault"]["address"] in addresses  # the sample would be refused by its own cluster otherwise
    assert full["spec"]["vault"]["mount"] in mounts


def test_dev_leaves_the_vault_policy_open(render: Render) -> None:
    assert not {"APIBASE_OPERATOR_VAULT_ADDRESSES", "APIBASE_OPERATOR_VAULT_MOUNTS"} & set(
        env(render("manifests/overlays/dev"))
    )


def test_prod_pdb_never_blocks_a_drain(render: Render) -> None:
    """One replica: a PDB that keeps one available would make every node drain hang."""
    pdb = one(render("manifests/overlays/prod"), "PodDisruptionBudget")["spec"]
    assert "minAvailable" not in pdb
    assert pdb["maxUnavailable"] >= 1
    assert pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


# --- the CRD ---------------------------------------------------------------------------------------------------


def test_base_crd_is_a_copy_of_the_generated_crd() -> None:
    generated = (REPO / CRD_PATH).read_text(encoding="utf-8")
    copy = (REPO / "manifests/base/crd.yaml").read_text(encoding="utf-8")
    assert copy == generated, f"manifests/base/crd.yaml is stale: cp {CRD_PATH} manifests/base/crd.yaml"


def test_rendered_crd_is_the_generated_crd(render: Render) -> None:
    crd = one(render("manifests/base"), "CustomResourceDefinition")
    generated = build_crd()
    assert crd["metadata"]["name"] == generated["metadata"]["name"]
    assert crd["spec"] == generated["spec"]
