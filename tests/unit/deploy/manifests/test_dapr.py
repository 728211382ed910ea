"""manifests/dapr: the sidecar Configuration, the control plane's mTLS choice and the example Components."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[4]
DAPR = REPO / "manifests" / "dapr"
#: Metadata names that hold credentials: their value must come from a secretKeyRef, never be written inline.
SECRET_WORDS = ("password", "token", "secret", "key", "credential")
#: Metadata each example's type cannot work without (Dapr's component references).
REQUIRED_METADATA = {
    "pubsub.redis": {"redisHost"},
    "state.redis": {"redisHost"},
    "pubsub.kafka": {"brokers", "authType"},
    "secretstores.kubernetes": set(),
}

type Obj = dict[str, Any]
type Validate = Callable[[Mapping[str, object]], list[str]]


@pytest.fixture
def objects(manifest_objects: Callable[[Path], list[Obj]]) -> list[Obj]:
    return manifest_objects(DAPR)


def by_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def configuration(objects: list[Obj], name: str) -> Obj:
    (found,) = [obj for obj in by_kind(objects, "Configuration") if obj["metadata"]["name"] == name]
    return found


def test_kustomization_lists_every_file() -> None:
    listed = yaml.safe_load((DAPR / "kustomization.yaml").read_text(encoding="utf-8"))["resources"]
    assert sorted(listed) == sorted(path.name for path in DAPR.glob("*.yaml") if path.name != "kustomization.yaml")


def test_every_object_is_valid(objects: list[Obj], validate_manifest: Validate) -> None:
    assert [problem for obj in objects for problem in validate_manifest(obj)] == []


def test_rendered_objects_are_the_files_plus_labels(render: Callable[[str], list[Obj]], objects: list[Obj]) -> None:
    rendered = render("manifests/dapr")
    labels = {"app.kubernetes.io/part-of": "apibase", "app.kubernetes.io/component": "dapr"}
    for obj in rendered:
        assert labels.items() <= obj["metadata"]["labels"].items()
        del obj["metadata"]["labels"]
    key = lambda obj: (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])  # noqa: E731
    assert sorted(rendered, key=key) == sorted(objects, key=key)


def test_the_example_components(objects: list[Obj]) -> None:
    components = by_kind(objects, "Component")
    assert sorted(component["spec"]["type"] for component in components) == sorted(REQUIRED_METADATA)
    for component in components:
        names = {item["name"] for item in component["spec"].get("metadata", [])}
        assert REQUIRED_METADATA[component["spec"]["type"]] <= names, component["metadata"]["name"]
        assert component["scopes"], f"{component['metadata']['name']} would be loaded by every app in the namespace"


def test_kafka_with_password_auth_names_the_credentials(objects: list[Obj]) -> None:
    (kafka,) = [obj for obj in by_kind(objects, "Component") if obj["spec"]["type"] == "pubsub.kafka"]
    metadata = {item["name"]: item for item in kafka["spec"]["metadata"]}
    assert metadata["authType"]["value"] == "password"
    assert {"saslUsername", "saslPassword"} <= metadata.keys()


def test_credentials_come_from_secrets(objects: list[Obj]) -> None:
    for component in by_kind(objects, "Component"):
        for item in component["spec"].get("metadata", []):
            if any(word in item["name"].lower() for word in SECRET_WORDS) and item["name"] != "keyPrefix":
                assert "value" not in item, f"{component['metadata']['name']}.{item['name']} is written inline"
                assert "secretKeyRef" in item


def test_components_do_not_clash_with_operator_owned_ones(objects: list[Obj]) -> None:
    """The operator creates each ApiBase's spec.dapr.components under their own names, in the same namespace."""
    owned = set()
    for path in (REPO / "manifests" / "samples").glob("*.yaml"):
        for sample in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            dapr = (sample or {}).get("spec", {}).get("dapr") or {}
            owned |= {(sample["metadata"]["namespace"], c["name"]) for c in dapr.get("components", [])}
    ours = {(c["metadata"]["namespace"], c["metadata"]["name"]) for c in by_kind(objects, "Component")}
    assert owned
    assert not owned & ours


def test_the_sample_finds_its_configuration(objects: list[Obj]) -> None:
    sample = yaml.safe_load((REPO / "manifests/samples/apibase-full.yaml").read_text(encoding="utf-8"))
    found = configuration(objects, sample["spec"]["dapr"]["config"])
    assert found["metadata"]["namespace"] == sample["metadata"]["namespace"]


def test_tracing_goes_to_opentelemetry(objects: list[Obj]) -> None:
    tracing = configuration(objects, "orders-tracing")["spec"]["tracing"]
    assert tracing["otel"]["protocol"] == "grpc"
    assert tracing["otel"]["endpointAddress"].endswith(":4317")  # OTLP over gRPC
    assert 0 < float(tracing["samplingRate"]) <= 1


def test_istio_owns_mtls(objects: list[Obj]) -> None:
    """The operator's choice (reconcile/istio.py): Istio's STRICT mTLS carries daprd-to-daprd traffic.

    So Dapr's own mTLS is off, and only where Dapr reads it: the control plane's daprsystem Configuration. An
    mtls block anywhere else would be ignored, so there is none; and the mesh really is STRICT everywhere.
    """
    system = configuration(objects, "daprsystem")
    assert system["metadata"]["namespace"] == "dapr-system"
    assert system["spec"]["mtls"]["enabled"] is False
    others = [obj for obj in by_kind(objects, "Configuration") if obj is not system]
    assert others
    assert all("mtls" not in obj["spec"] for obj in others)
    (mesh,) = yaml.safe_load_all((REPO / "istio" / "peer-authentication.yaml").read_text(encoding="utf-8"))
    assert mesh["metadata"] == {"name": "default", "namespace": "istio-system"}
    assert mesh["spec"] == {"mtls": {"mode": "STRICT"}}


def test_the_schemas_refuse_mistakes(objects: list[Obj], validate_manifest: Validate) -> None:
    system = copy.deepcopy(configuration(objects, "daprsystem"))
    del system["spec"]["mtls"]["sentryAddress"]  # required by the Dapr 1.15 CRD whenever mtls is given
    tracing = copy.deepcopy(configuration(objects, "orders-tracing"))
    tracing["spec"]["tracing"]["otel"]["protocol"] = "otlp"
    tracing["spec"]["tracng"] = {}
    component = copy.deepcopy(by_kind(objects, "Component")[0])
    component["spec"]["verison"] = "v1"
    assert len(validate_manifest(system)) == 1
    assert len(validate_manifest(tracing)) == 2
    assert len(validate_manifest(component)) == 1
