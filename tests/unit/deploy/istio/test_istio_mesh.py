"""istio/: mesh-level configuration the operator does not own: valid against Istio schemas, and saying what it must."""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[4]
ISTIO = REPO / "istio"
ROOT_NAMESPACE = "istio-system"
INGRESS_GATEWAY_PRINCIPAL = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"

type Obj = dict[str, Any]
type SchemaFor = Callable[[str, str], dict[str, object] | None]
type ModelsValidate = Callable[[list[Obj]], list[list[str]]]


def schema_problems(obj: Obj, schema_for: SchemaFor) -> list[str]:
    schema = schema_for(obj["apiVersion"], obj["kind"])
    if schema is None:
        return [f"no schema for {obj['apiVersion']} {obj['kind']}"]
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(obj)]


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects: list[Obj], kind: str, name: str, namespace: str = ROOT_NAMESPACE) -> Obj:
    (found,) = [
        obj
        for obj in of_kind(objects, kind)
        if (obj["metadata"]["name"], obj["metadata"]["namespace"]) == (name, namespace)
    ]
    return found


def mesh_wide(obj: Obj) -> bool:
    """A policy in the root namespace without a selector or target applies to every workload of the mesh."""
    spec = obj["spec"]
    return obj["metadata"]["namespace"] == ROOT_NAMESPACE and not {"selector", "targetRef", "targetRefs"} & set(spec)


def sample(name: str) -> Obj:
    return yaml.safe_load((REPO / "manifests" / "samples" / name).read_text(encoding="utf-8"))


# --- files and schemas -----------------------------------------------------------------------------------------


def test_kustomization_lists_every_file() -> None:
    listed = yaml.safe_load((ISTIO / "kustomization.yaml").read_text(encoding="utf-8"))["resources"]
    assert sorted(listed) == sorted(path.name for path in ISTIO.glob("*.yaml") if path.name != "kustomization.yaml")


def test_every_object_is_valid_against_the_handwritten_schemas(
    istio_objects: list[Obj], istio_schema: SchemaFor
) -> None:
    kinds = {obj["kind"] for obj in istio_objects}
    assert kinds == {"Gateway", "PeerAuthentication", "AuthorizationPolicy", "Telemetry"}
    assert [(obj["metadata"]["name"], schema_problems(obj, istio_schema)) for obj in istio_objects] == [
        (obj["metadata"]["name"], []) for obj in istio_objects
    ]


def test_the_handwritten_schemas_are_schemas(istio_objects: list[Obj], istio_schema: SchemaFor) -> None:
    for obj in istio_objects:
        schema = istio_schema(obj["apiVersion"], obj["kind"])
        assert schema is not None
        jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    ("kind", "name", "mistake", "expected"),
    [
        ("PeerAuthentication", "default", lambda spec: spec["mtls"].update(mode="STRICTEST"), 1),
        ("PeerAuthentication", "default", lambda spec: spec.update(portLevelMtls={"8080": {"mode": "DISABLE"}}), 1),
        ("AuthorizationPolicy", "allow-from-ingress-gateway", lambda spec: spec.update(action="PERMIT"), 1),
        ("AuthorizationPolicy", "allow-from-ingress-gateway", lambda spec: spec.update(action="CUSTOM"), 1),
        ("AuthorizationPolicy", "allow-prometheus-scrape", lambda spec: spec["rules"][0].update(form=[]), 1),
        ("Gateway", "public-gateway", lambda spec: spec["servers"][1]["tls"].pop("credentialName"), 1),
        ("Gateway", "public-gateway", lambda spec: spec["servers"][0]["port"].pop("name"), 1),
        ("Telemetry", "mesh-default", lambda spec: spec["tracing"][0].update(randomSamplingPercentage=120), 1),
        ("Telemetry", "mesh-default", lambda spec: spec["accessLogging"][0]["providers"][0].pop("name"), 1),
    ],
)
def test_the_handwritten_schemas_refuse_mistakes(
    istio_objects: list[Obj],
    istio_schema: SchemaFor,
    kind: str,
    name: str,
    mistake: Callable[[Obj], object],
    expected: int,
) -> None:
    obj = copy.deepcopy(named(istio_objects, kind, name))
    mistake(obj["spec"])
    assert len(schema_problems(obj, istio_schema)) == expected


def test_every_object_is_valid_against_istios_own_crd_schemas(
    istio_objects: list[Obj], validate_with_istio_models: ModelsValidate
) -> None:
    """The validators of @kubernetes-models/istio, compiled from Istio's CRDs; the check itself must bite."""
    broken = copy.deepcopy(named(istio_objects, "PeerAuthentication", "default"))
    broken["spec"]["mtls"]["mode"] = "STRICTEST"
    results = validate_with_istio_models([*istio_objects, broken])
    assert results[:-1] == [[] for _ in istio_objects]
    assert results[-1]
    assert "allowed values" in results[-1][0]


def test_rendered_objects_are_the_files_plus_labels(kustomize_istio: list[Obj], istio_objects: list[Obj]) -> None:
    rendered = copy.deepcopy(kustomize_istio)
    for obj in rendered:
        assert obj["metadata"]["labels"] == {
            "app.kubernetes.io/part-of": "apibase",
            "app.kubernetes.io/component": "mesh",
            "app.kubernetes.io/managed-by": "kustomize",
        }
        del obj["metadata"]["labels"]

    def key(obj: Obj) -> tuple[str, str, str]:
        return obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]

    assert sorted(rendered, key=key) == sorted(istio_objects, key=key)


# --- what the configuration says -------------------------------------------------------------------------------


def test_mesh_wide_strict_mtls(istio_objects: list[Obj]) -> None:
    (peer_authentication,) = of_kind(istio_objects, "PeerAuthentication")
    assert peer_authentication["metadata"] == {"name": "default", "namespace": ROOT_NAMESPACE}
    assert peer_authentication["spec"] == {"mtls": {"mode": "STRICT"}}


def test_default_deny(istio_objects: list[Obj]) -> None:
    """An ALLOW policy with an empty spec in the root namespace: every workload denies what no ALLOW matches."""
    deny_all = [obj for obj in of_kind(istio_objects, "AuthorizationPolicy") if obj["spec"] == {}]
    assert len(deny_all) == 1
    assert deny_all[0]["metadata"]["namespace"] == ROOT_NAMESPACE


def test_no_policy_denies_by_action_and_mesh_wide_allows_need_an_identity(istio_objects: list[Obj]) -> None:
    """Mesh-wide allows must name who may call (a rule without ``from`` would undo the default deny)."""
    policies = [obj for obj in of_kind(istio_objects, "AuthorizationPolicy") if obj["spec"]]
    assert policies
    for policy in policies:
        assert policy["spec"]["action"] == "ALLOW"
        assert policy["spec"]["rules"]
        if mesh_wide(policy):
            for rule in policy["spec"]["rules"]:
                assert rule.get("from"), policy["metadata"]["name"]
                assert all(entry["source"].get("principals") for entry in rule["from"]), policy["metadata"]["name"]


def test_the_ingress_gateway_is_reachable_and_reaches_the_services(istio_objects: list[Obj]) -> None:
    (gateway,) = of_kind(istio_objects, "Gateway")
    gateway_labels = gateway["spec"]["selector"]
    policies = of_kind(istio_objects, "AuthorizationPolicy")
    # The default deny covers the gateway too: without an allow on its own pods, nothing gets in.
    own = [p for p in policies if p["metadata"]["namespace"] == ROOT_NAMESPACE and "selector" in p["spec"]]
    assert any(gateway_labels.items() <= p["spec"]["selector"]["matchLabels"].items() for p in own)
    allowed = {
        principal
        for policy in policies
        if mesh_wide(policy)
        for rule in policy["spec"].get("rules", [])
        for entry in rule.get("from", [])
        for principal in entry["source"].get("principals", [])
    }
    assert INGRESS_GATEWAY_PRINCIPAL in allowed
    assert any(p.startswith("cluster.local/ns/monitoring/sa/prometheus") for p in allowed)


def test_prometheus_may_only_scrape(istio_objects: list[Obj]) -> None:
    policy = named(istio_objects, "AuthorizationPolicy", "allow-prometheus-scrape")
    for rule in policy["spec"]["rules"]:
        for entry in rule["to"]:
            assert entry["operation"]["methods"] == ["GET"]
            assert set(entry["operation"]["paths"]) <= {"/metrics", "/stats/prometheus"}


def test_the_operator_namespace_is_allowed_to_prometheus_and_vault(istio_objects: list[Obj]) -> None:
    """The operator queries Prometheus (canary analysis) and Vault (secret sync) as its own ServiceAccount."""
    base = REPO / "manifests" / "base"
    account = yaml.safe_load((base / "serviceaccount.yaml").read_text(encoding="utf-8"))["metadata"]
    principal = f"cluster.local/ns/{account['namespace']}/sa/{account['name']}"
    policies = [
        p for p in of_kind(istio_objects, "AuthorizationPolicy") if p["metadata"]["name"] == "allow-apibase-operator"
    ]
    assert sorted(p["metadata"]["namespace"] for p in policies) == ["monitoring", "vault"]
    for policy in policies:
        sources = [entry["source"] for rule in policy["spec"]["rules"] for entry in rule["from"]]
        assert sources
        assert all(source["principals"] == [principal] for source in sources)
        assert all(source["namespaces"] == [account["namespace"]] for source in sources)
    prometheus = named(istio_objects, "AuthorizationPolicy", "allow-apibase-operator", "monitoring")
    operations = [entry["operation"] for rule in prometheus["spec"]["rules"] for entry in rule["to"]]
    assert operations == [{"methods": ["GET"], "paths": ["/api/v1/query"]}]  # what canary/analysis.py sends
    vault = named(istio_objects, "AuthorizationPolicy", "allow-apibase-operator", "vault")
    # TLS from the operator to Vault: the sidecar sees TCP, so the rule must use no HTTP-only field.
    for rule in vault["spec"]["rules"]:
        for entry in rule["to"]:
            assert set(entry["operation"]) == {"ports"}
    vault_address = sample("apibase-full.yaml")["spec"]["vault"]["address"]
    assert vault_address.startswith("https://")
    assert vault_address.rpartition(":")[2] in vault["spec"]["rules"][0]["to"][0]["operation"]["ports"]


def test_the_sample_binds_to_this_gateway(istio_objects: list[Obj]) -> None:
    (gateway,) = of_kind(istio_objects, "Gateway")
    istio = sample("apibase-full.yaml")["spec"]["istio"]
    assert istio["gateway"] == f"{gateway['metadata']['namespace']}/{gateway['metadata']['name']}"
    https = [server for server in gateway["spec"]["servers"] if server["port"]["protocol"] == "HTTPS"]
    assert https
    for host in istio["hosts"]:
        assert any(fnmatch.fnmatch(host, pattern) for server in https for pattern in server["hosts"]), host
    assert INGRESS_GATEWAY_PRINCIPAL in istio["allowedPrincipals"]


def test_plain_http_only_redirects(istio_objects: list[Obj]) -> None:
    (gateway,) = of_kind(istio_objects, "Gateway")
    for server in gateway["spec"]["servers"]:
        if server["port"]["protocol"] == "HTTP":
            assert server["tls"] == {"httpsRedirect": True}
        else:
            assert server["tls"]["mode"] == "SIMPLE"
            assert server["tls"]["minProtocolVersion"] in {"TLSV1_2", "TLSV1_3"}


def test_telemetry_traces_to_opentelemetry_and_logs_access(istio_objects: list[Obj]) -> None:
    (telemetry,) = of_kind(istio_objects, "Telemetry")
    assert mesh_wide(telemetry)
    (tracing,) = telemetry["spec"]["tracing"]
    assert [provider["name"] for provider in tracing["providers"]] == ["otel-tracing"]
    assert 0 < tracing["randomSamplingPercentage"] <= 100
    assert telemetry["spec"]["accessLogging"][0]["providers"] == [{"name": "envoy"}]
    # The provider must be declared in the mesh config, which the file documents.
    assert "name: otel-tracing" in (ISTIO / "telemetry.yaml").read_text(encoding="utf-8")
