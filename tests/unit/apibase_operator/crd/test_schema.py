"""The generated CRD: structural, committed as generated, documented field by field, and validating like the server."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from apibase_operator import API_VERSION, GROUP, KIND, PLURAL, VERSION
from apibase_operator.crd import schema
from apibase_operator.crd.models import ApiBaseSpec, ApiBaseStatus
from apibase_operator.crd.schema import (
    CRD_NAME,
    CRD_PATH,
    REGENERATE_COMMAND,
    SchemaConversionError,
    build_crd,
    crd_yaml,
    structural_schema,
    validate_against_crd,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[4]
DOC = ROOT / "docs" / "operator.md"

#: Every section of the spec in use; docs/operator.md shows exactly this manifest.
FULL_EXAMPLE: dict[str, Any] = {
    "apiVersion": "apibase.dev/v1alpha1",
    "kind": "ApiBase",
    "metadata": {"name": "orders", "namespace": "shop"},
    "spec": {
        "image": "ghcr.io/acme/orders:1.4.2",
        "replicas": 3,
        "port": 8000,
        "autoscaling": {
            "enabled": True,
            "minReplicas": 3,
            "maxReplicas": 12,
            "targetCpuUtilizationPercentage": 70,
        },
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DATABASE_URL", "secretKeyRef": {"name": "orders-db", "key": "url"}},
        ],
        "envFromSecrets": ["orders-config"],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "probes": {
            "liveness": {"path": "/health/live"},
            "readiness": {"path": "/health/ready", "periodSeconds": 5},
            "startup": {"path": "/health/startup", "periodSeconds": 2, "failureThreshold": 90},
        },
        "serviceAccountName": "orders",
        "dapr": {
            "enabled": True,
            "appId": "orders",
            "appProtocol": "http",
            "logLevel": "info",
            "components": [
                {
                    "name": "orders-pubsub",
                    "type": "pubsub.redis",
                    "version": "v1",
                    "metadata": [
                        {"name": "redisHost", "value": "redis.shop.svc:6379"},
                        {"name": "redisPassword", "secretKeyRef": {"name": "redis", "key": "password"}},
                    ],
                },
                {
                    "name": "orders-state",
                    "type": "state.redis",
                    "metadata": [{"name": "redisHost", "value": "redis.shop.svc:6379"}],
                },
            ],
        },
        "istio": {
            "enabled": True,
            "hosts": ["orders.example.com"],
            "gateway": "istio-system/public",
            "mtlsMode": "STRICT",
            "allowedPrincipals": ["cluster.local/ns/shop/sa/checkout"],
        },
        "canary": {
            "image": "ghcr.io/acme/orders:1.5.0",
            "steps": [10, 25, 50, 100],
            "stepIntervalSeconds": 120,
            "autoPromote": True,
            "analysis": {
                "prometheusUrl": "http://prometheus.monitoring.svc:9090",
                "query": (
                    'sum(rate(istio_requests_total{destination_workload="orders-canary",response_code=~"5.."}[1m]))'
                    ' / sum(rate(istio_requests_total{destination_workload="orders-canary"}[1m]))'
                ),
                "maxValue": 0.01,
            },
        },
        "vault": {
            "address": "https://vault.example.com:8200",
            "auth": {"kubernetes": {"role": "orders", "mountPath": "kubernetes"}},
            "mount": "secret",
            "paths": [
                {"path": "shop/orders/db", "keys": {"password": "DATABASE_PASSWORD"}},
                {"path": "shop/orders/stripe", "keys": {"api_key": "STRIPE_API_KEY"}},
            ],
            "targetSecret": "orders-vault",
            "refreshIntervalSeconds": 300,
            "restartOnRotation": True,
        },
    },
}
MINIMAL: dict[str, Any] = {
    "apiVersion": API_VERSION,
    "kind": KIND,
    "metadata": {"name": "orders"},
    "spec": {"image": "ghcr.io/acme/orders:1.4.2"},
}


def _crd() -> Any:
    """The CRD as loosely typed JSON: tests index deep into it."""
    return build_crd()


def _openapi() -> Any:
    return _crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _nodes(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every schema node with its field path: ``spec.env[].name``, maps as ``spec.resources.requests{}``."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _nodes(child, f"{path}.{name}" if path else name)
    if "items" in node:
        yield from _nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), Mapping):
        yield from _nodes(node["additionalProperties"], f"{path}{{}}")


def _with(path: str, value: object) -> Any:
    """FULL_EXAMPLE with one field replaced: ``spec.canary.steps[0]`` = 150."""
    manifest = copy.deepcopy(FULL_EXAMPLE)
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    target: Any = manifest
    for part in parts[:-1]:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    last = parts[-1]
    target[int(last[1:-1]) if last.startswith("[") else last] = value
    return manifest


# --- the committed artefact -------------------------------------------------------------------------------------


def test_committed_crd_is_the_generated_one() -> None:
    committed = (ROOT / CRD_PATH).read_text(encoding="utf-8")
    assert committed == crd_yaml(), f"{CRD_PATH} is stale; regenerate it with: {REGENERATE_COMMAND}"


def test_generation_is_deterministic_and_round_trips() -> None:
    assert crd_yaml() == crd_yaml()
    assert yaml.safe_load(crd_yaml()) == build_crd()
    assert crd_yaml().startswith("# Generated from apibase_operator/crd/models.py")


# --- structure --------------------------------------------------------------------------------------------------


def test_crd_is_a_valid_customresourcedefinition_object() -> None:
    kubernetes_validate.validate(build_crd(), kubernetes_validate.latest_version(), strict=True)


def test_names_and_version() -> None:
    crd = _crd()
    assert crd["metadata"] == {"name": CRD_NAME}
    assert CRD_NAME == "apibases.apibase.dev"
    spec = crd["spec"]
    assert spec["group"] == GROUP
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "ApiBase",
        "listKind": "ApiBaseList",
        "plural": PLURAL,
        "singular": "apibase",
        "shortNames": ["ab"],
        "categories": ["all"],
    }
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == (VERSION, True, True)


def test_subresources_and_printer_columns() -> None:
    version = _crd()["spec"]["versions"][0]
    assert version["subresources"] == {
        "status": {},
        "scale": {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        },
    }
    columns = {column["name"]: (column["type"], column["jsonPath"]) for column in version["additionalPrinterColumns"]}
    assert columns == {
        "Image": ("string", ".spec.image"),
        "Ready": ("string", '.status.conditions[?(@.type=="Ready")].status'),
        "Canary": ("integer", ".status.canaryWeight"),
        "Age": ("date", ".metadata.creationTimestamp"),
    }


def test_top_level_schema() -> None:
    root = _openapi()
    assert root["type"] == "object"
    assert root["required"] == ["spec"]
    props = root["properties"]
    assert set(props) == {"apiVersion", "kind", "metadata", "spec", "status"}
    assert props["metadata"] == {"type": "object"}
    assert props["spec"]["required"] == ["image"]


def test_crd_is_structural() -> None:
    """The rules the API server enforces on a structural schema (and pydantic schemas break)."""
    allowed = {"date-time", "date", "byte", "int32", "int64", "float", "double", "uuid", "email", "hostname", "uri"}
    for path, node in _nodes(_openapi()):
        assert isinstance(node.get("type"), str), f"{path}: every node needs exactly one type"
        forbidden = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "title", "const", "examples", "uniqueItems"}
        assert not forbidden & set(node), f"{path}: {sorted(forbidden & set(node))}"
        assert node.get("additionalProperties") not in (True, False), f"{path}: additionalProperties must be a schema"
        assert not ({"properties", "additionalProperties"} <= set(node)), f"{path}: properties xor additionalProperties"
        if node["type"] == "object" and path != "metadata":
            assert "properties" in node or "additionalProperties" in node, f"{path}: object without fields"
        if "format" in node:
            assert node["format"] in allowed, path
        assert "default" not in node or node["default"] is not None, f"{path}: null default"


def test_defaults_are_valid_for_their_own_schema() -> None:
    """The API server refuses a CRD whose defaults do not validate: check each one like it would."""
    for path, node in _nodes(_openapi()):
        if "default" in node:
            errors = list(jsonschema.Draft4Validator(schema._jsonschema(node)).iter_errors(node["default"]))
            assert not errors, f"{path}: {[error.message for error in errors]}"


def test_defaults_are_published() -> None:
    spec = _openapi()["properties"]["spec"]["properties"]
    assert spec["replicas"]["default"] == 2
    assert spec["port"]["default"] == 8000
    assert spec["paused"]["default"] is False
    assert spec["probes"]["default"]["liveness"]["path"] == "/health/live"
    assert spec["probes"]["default"]["readiness"]["path"] == "/health/ready"
    assert spec["probes"]["default"]["startup"] == {
        "failureThreshold": 60,
        "path": "/health/startup",
        "periodSeconds": 2,
        "timeoutSeconds": 2,
    }
    assert spec["resources"]["default"] == {
        "limits": {"memory": "512Mi"},
        "requests": {"cpu": "100m", "memory": "128Mi"},
    }
    canary = spec["canary"]["properties"]
    assert canary["steps"]["default"] == [10, 25, 50, 100]
    assert spec["istio"]["properties"]["mtlsMode"] == {
        "default": "STRICT",
        "enum": ["STRICT", "PERMISSIVE"],
        "type": "string",
    }
    assert "default" not in spec["env"], "an empty list default is noise"


def test_steps_are_integers_between_1_and_100() -> None:
    steps = _openapi()["properties"]["spec"]["properties"]["canary"]["properties"]["steps"]
    assert steps["items"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert (steps["minItems"], steps["maxItems"]) == (1, 20)


def test_optional_sections_are_nullable_without_a_null_default() -> None:
    spec = _openapi()["properties"]["spec"]["properties"]
    for section in ("autoscaling", "dapr", "istio", "canary", "vault"):
        assert spec[section]["nullable"] is True
        assert spec[section]["type"] == "object"
        assert "default" not in spec[section]


def test_conditions_are_a_map_keyed_by_type() -> None:
    conditions = _openapi()["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in conditions["items"]["required"]
    assert conditions["items"]["properties"]["lastTransitionTime"]["format"] == "date-time"


def _k8s_defaulted(node: Any, value: object) -> object:
    """Apply CRD defaults the way the API server does: missing fields with a default, then recurse."""
    if isinstance(value, dict) and "properties" in node:
        props = node["properties"]
        for name, child in props.items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
        return {name: _k8s_defaulted(props[name], item) if name in props else item for name, item in value.items()}
    if isinstance(value, list) and "items" in node:
        return [_k8s_defaulted(node["items"], item) for item in value]
    return value


def _without_empty(value: object) -> object:
    if isinstance(value, dict):
        return {key: _without_empty(item) for key, item in value.items() if item not in ([], {})}
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value


@pytest.mark.parametrize("manifest", [MINIMAL, FULL_EXAMPLE], ids=["minimal", "full"])
def test_server_defaults_agree_with_the_operators(manifest: dict[str, Any]) -> None:
    """What is stored after API server defaulting is what the operator computes from the same manifest."""
    spec_schema = _openapi()["properties"]["spec"]
    stored = _k8s_defaulted(spec_schema, copy.deepcopy(manifest["spec"]))
    operator_view = ApiBaseSpec.model_validate(manifest["spec"]).model_dump(
        by_alias=True, mode="json", exclude_none=True
    )
    assert stored == _without_empty(operator_view)


# --- conversion of pydantic constructs --------------------------------------------------------------------------


def _count(data: dict[str, object]) -> int:
    """A default factory that needs the other fields: it has no value to publish."""
    return len(data)


class _Node(BaseModel):
    children: list[_Node] = []


def test_conversion_of_other_pydantic_constructs() -> None:
    class Extras(BaseModel):
        model_config = ConfigDict(extra="allow")

        bounded: float = Field(default=1.0, gt=0, lt=10)
        mode: Literal["fast"] = "fast"
        tags: set[str] = set()
        blob: dict[str, object] = Field(default_factory=dict)
        wait: timedelta = timedelta(seconds=1)
        derived: int = Field(default_factory=_count)

    converted = structural_schema(Extras.model_json_schema(by_alias=True))
    props: Any = converted["properties"]
    assert props["bounded"] == {
        "default": 1.0,
        "exclusiveMaximum": True,
        "exclusiveMinimum": True,
        "maximum": 10,
        "minimum": 0,
        "type": "number",
    }
    assert props["mode"] == {"default": "fast", "enum": ["fast"], "type": "string"}
    assert props["tags"]["x-kubernetes-list-type"] == "set"
    assert props["blob"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert "format" not in props["wait"]  # ISO 8601 durations are not Kubernetes durations
    assert props["derived"] == {"type": "integer"}  # a factory needing data has no default
    assert converted["x-kubernetes-preserve-unknown-fields"] is True
    assert structural_schema({"type": "string", "examples": []}) == {"type": "string"}
    assert structural_schema({"type": "array", "uniqueItems": False, "items": {"type": "string"}}) == {
        "items": {"type": "string"},
        "type": "array",
    }


class _Union(BaseModel):
    value: int | str


@pytest.mark.parametrize(
    ("json_schema", "message"),
    [
        (_Node.model_json_schema(), "recursive model _Node"),
        (_Union.model_json_schema(), "only 'X | None' unions"),
        ({"$ref": "#/$defs/Missing"}, "unresolvable reference"),
        ({"anyOf": {"type": "null"}}, "expected a list"),
        ({"type": "string", "not": {"const": "x"}}, "'not' cannot be expressed"),
        ({"properties": {"x": {"type": "string"}}}, "needs a type"),
        ({"type": ["string", "integer"]}, "exactly one type"),
        ({"type": "object", "properties": ["x"]}, "expected a schema object"),
        ({"type": "object", "required": "x"}, "expected a list"),
    ],
    ids=["recursive", "union", "dangling-ref", "anyof-object", "not", "untyped", "two-types", "bad-props", "bad-req"],
)
def test_inexpressible_schemas_fail_generation(json_schema: Mapping[str, object], message: str) -> None:
    with pytest.raises(SchemaConversionError, match=re.escape(message)):
        structural_schema(json_schema)


def test_translation_for_validation_keeps_null_in_nullable_enums() -> None:
    translated = schema._jsonschema({"type": "string", "nullable": True, "enum": ["a"]})
    assert translated == {"type": ["string", "null"], "enum": ["a", None]}


# --- validate_against_crd ---------------------------------------------------------------------------------------


def test_full_example_is_valid() -> None:
    assert validate_against_crd(FULL_EXAMPLE) == []


def test_minimal_manifest_is_valid() -> None:
    assert validate_against_crd(MINIMAL) == []


def test_any_mapping_is_accepted() -> None:
    assert validate_against_crd(MappingProxyType({**MINIMAL, "spec": MappingProxyType(MINIMAL["spec"])})) == []


def test_nullable_fields_accept_null() -> None:
    manifest = _with("spec.dapr.appId", None)
    assert validate_against_crd(manifest) == []
    manifest["spec"]["canary"] = None
    assert validate_against_crd(manifest) == []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("spec.canary.steps[3]", 150, "spec.canary.steps[3]: 150 is greater than the maximum of 100"),
        ("spec.replicas", -1, "spec.replicas: -1 is less than the minimum of 0"),
        ("spec.replicas", None, "spec.replicas: None is not of type 'integer'"),
        ("spec.dapr.components[0].type", "foo.bar", "spec.dapr.components[0].type: 'foo.bar' does not match"),
        ("spec.image", "UPPER/Case:tag!", "spec.image: 'UPPER/Case:tag!' does not match"),
        ("spec.foo", 1, 'unknown field "spec.foo"'),
        ("spec.vault.auth.kubernetes.token", "x", 'unknown field "spec.vault.auth.kubernetes.token"'),
        ("spec.istio.mtlsMode", "OFF", "spec.istio.mtlsMode: 'OFF' is not one of ['STRICT', 'PERMISSIVE']"),
        ("spec.vault.paths", [], "spec.vault.paths: [] should be non-empty"),
        ("spec.env[1].secretKeyRef.name", "Bad_Name", "spec.env[1].secretKeyRef.name: 'Bad_Name' does not match"),
        ("spec.resources.requests.cpu", 1, "spec.resources.requests.cpu: 1 is not of type 'string'"),
        ("kind", "Deployment", "kind: 'Deployment' is not one of ['ApiBase']"),
        ("apiVersion", "apps/v1", "apiVersion: 'apps/v1' is not one of ['apibase.dev/v1alpha1']"),
        ("metadata", {"namespace": "shop"}, "metadata: 'name' is a required property"),
        ("extra", True, 'unknown field "extra"'),
    ],
)
def test_invalid_manifests_are_refused(path: str, value: object, expected: str) -> None:
    errors = validate_against_crd(_with(path, value))
    assert any(error.startswith(expected) for error in errors), errors


def test_missing_spec_is_reported_at_the_root() -> None:
    manifest = {key: value for key, value in MINIMAL.items() if key != "spec"}
    assert validate_against_crd(manifest) == ["<root>: 'spec' is a required property"]


def test_errors_are_sorted_and_all_reported() -> None:
    manifest = _with("spec.replicas", -1)
    manifest["spec"]["port"] = 0
    assert validate_against_crd(manifest) == [
        "spec.port: 0 is less than the minimum of 1",
        "spec.replicas: -1 is less than the minimum of 0",
    ]


def _status(**changes: object) -> dict[str, object]:
    condition = {
        "type": "Ready",
        "status": "True",
        "observedGeneration": 1,
        "reason": "Reconciled",
        "message": "all objects applied",
        "lastTransitionTime": "2025-01-02T03:04:05Z",
    }
    return {**MINIMAL, "status": {"observedGeneration": 1, "conditions": [{**condition, **changes}], "canaryWeight": 0}}


def test_status_is_validated_too() -> None:
    assert validate_against_crd(_status()) == []
    assert validate_against_crd(_status(lastTransitionTime="2025-01-02T03:04:05.123+01:00")) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"lastTransitionTime": "yesterday"}, "'yesterday' is not a 'date-time'"),
        ({"lastTransitionTime": "2025-13-02T03:04:05Z"}, "is not a 'date-time'"),
        ({"lastTransitionTime": 5}, "5 is not of type 'string'"),
        ({"type": "Happy"}, "'Happy' is not one of"),
        ({"status": "Yes"}, "'Yes' is not one of ['True', 'False', 'Unknown']"),
    ],
)
def test_invalid_status_is_refused(changes: dict[str, object], expected: str) -> None:
    errors = validate_against_crd(_status(**changes))
    assert any(expected in error for error in errors), errors


def test_validation_agrees_with_the_models_on_the_full_example() -> None:
    assert ApiBaseSpec.model_validate(FULL_EXAMPLE["spec"]) is not None
    assert ApiBaseStatus.model_validate(_status()["status"]).conditions[0].type == "Ready"


# --- docs/operator.md -------------------------------------------------------------------------------------------


_ROW = re.compile(r"^\|\s*`((?:spec|status)(?:\.[A-Za-z]+|\[\])*)`\s*\|")


def _doc_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match is not None:
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            assert len(cells) == 5, f"expected | field | type | default | validation | meaning |, got {line!r}"
            assert match.group(1) not in rows, f"{match.group(1)} documented twice"
            rows[match.group(1)] = cells
    return rows


def _field_paths() -> dict[str, Any]:
    """spec and status fields; list elements are described by their list's row, maps' keys are free-form."""
    props = _openapi()["properties"]
    return {
        path: node
        for section in ("spec", "status")
        for path, node in _nodes(props[section], section)
        if path != section and "{}" not in path and not path.endswith("[]")
    }


def _doc_type(node: Any) -> str:
    if node["type"] == "array":
        return f"{_doc_type(node['items'])}[]"
    if isinstance(node.get("additionalProperties"), Mapping):
        return f"map[string]{_doc_type(node['additionalProperties'])}"
    return str(node["type"])


def _doc_default(node: Any) -> str:
    if "default" not in node:
        return "—"
    default = node["default"]
    children = node.get("properties", {})
    composed = {name: child["default"] for name, child in children.items() if "default" in child}
    if children and default == composed:
        return "from its fields"
    if isinstance(default, str):
        return f"`{default}`"
    return f"`{json.dumps(default, separators=(', ', ': '))}`"


def test_docs_document_every_field() -> None:
    documented = set(_doc_rows())
    fields = set(_field_paths())
    assert not fields - documented, f"undocumented in docs/operator.md: {sorted(fields - documented)}"
    assert not documented - fields, f"documented but not in the models: {sorted(documented - fields)}"


def test_docs_types_and_defaults_match_the_crd() -> None:
    rows = _doc_rows()
    for path, node in _field_paths().items():
        _, doc_type, doc_default, _, meaning = rows[path]
        assert doc_type == _doc_type(node), f"{path}: type {doc_type!r}, CRD says {_doc_type(node)!r}"
        assert doc_default == _doc_default(node), f"{path}: default {doc_default!r}, CRD says {_doc_default(node)!r}"
        assert meaning, f"{path}: say what it means"


def test_docs_example_is_the_full_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)]
    assert FULL_EXAMPLE in blocks, "docs/operator.md must show FULL_EXAMPLE as a ```yaml block"


def test_docs_name_every_condition_and_the_install_command() -> None:
    text = DOC.read_text(encoding="utf-8")
    for condition in ("Ready", "Progressing", "Degraded", "SecretsSynced", "CanaryHealthy"):
        assert f"`{condition}`" in text
    assert f"kubectl apply -f {CRD_PATH}" in text
    assert "kubectl wait --for=condition=Ready apibase/" in text
    assert REGENERATE_COMMAND in text
