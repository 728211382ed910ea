"""The ApiBase CustomResourceDefinition, generated from the pydantic models, and validation of manifests against it.

The models in :mod:`apibase_operator.crd.models` are the single source of truth. The CRD is derived from them so the
API server refuses, at ``kubectl apply`` time, what the operator would refuse later, as far as a Kubernetes
*structural* OpenAPI v3 schema can say it. Cross-field rules (minReplicas <= maxReplicas, increasing canary steps,
exactly one Vault auth method, ...) stay in the models.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import yaml
from jsonschema import Draft4Validator, FormatChecker  # type: ignore[import-untyped]
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

from apibase_operator import API_VERSION, GROUP, KIND, PLURAL, VERSION
from apibase_operator.crd.models import ApiBaseSpec, ApiBaseStatus

__all__ = [
    "CRD_NAME",
    "CRD_PATH",
    "REGENERATE_COMMAND",
    "SchemaConversionError",
    "build_crd",
    "crd_yaml",
    "structural_schema",
    "validate_against_crd",
]

CRD_NAME = f"{PLURAL}.{GROUP}"
#: Where the generated CRD is committed, relative to the repository root.
CRD_PATH = f"operator/apibase_operator/crd/{GROUP}_{PLURAL}.yaml"
REGENERATE_COMMAND = f"apibase-operator crd > {CRD_PATH}"

#: Formats the API server understands; anything else pydantic emits (e.g. ISO ``duration``) is dropped.
_K8S_FORMATS = frozenset(
    {
        "byte",
        "date",
        "date-time",
        "double",
        "email",
        "float",
        "hostname",
        "int32",
        "int64",
        "ipv4",
        "ipv6",
        "uri",
        "uuid",
    }
)
#: Keywords that mean the same in JSON Schema and in a Kubernetes structural schema.
_KEPT = frozenset(
    {
        "default",
        "description",
        "enum",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "nullable",
        "pattern",
        "type",
    }
)
#: Annotations for humans and pydantic's own bookkeeping: no meaning to the API server.
_DROPPED = frozenset({"$defs", "$schema", "title"})
_NULL: Mapping[str, object] = {"type": "null"}
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class SchemaConversionError(ValueError):
    """A model uses a construct a structural schema cannot hold; fail at generation, not at ``kubectl apply``."""


class _FactoryDefaults(GenerateJsonSchema):
    """Publish ``default_factory`` values (canary steps, resource requests) so the API server fills them in too."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> object:
        factory = schema.get("default_factory")
        if factory is None or schema.get("default_factory_takes_data"):
            return super().get_default_value(schema)
        value = factory()  # type: ignore[call-arg]
        # An empty list or map is what absence means already; writing it into every object is noise.
        return NoDefault if value in ([], {}) else value


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise SchemaConversionError(f"{where}: expected a schema object, got {value!r}")
    return value


def _canonical(value: object) -> object:
    """Plain dicts and lists with sorted keys: stable YAML for defaults, and what jsonschema expects of instances."""
    if isinstance(value, Mapping):
        return {str(key): _canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class _Walk:
    """Where the conversion is: the definitions to inline, the models being inlined (to stop cycles), a path."""

    defs: Mapping[str, object]
    seen: tuple[str, ...]
    where: str

    def at(self, suffix: str) -> _Walk:
        return _Walk(self.defs, self.seen, f"{self.where}{suffix}")

    def entering(self, name: str) -> _Walk:
        if name in self.seen:
            raise SchemaConversionError(f"{self.where}: recursive model {name} cannot be inlined")
        return _Walk(self.defs, (*self.seen, name), self.where)


def _flatten(node: Mapping[str, object], walk: _Walk) -> tuple[dict[str, object], _Walk]:
    """Inline ``$ref`` and turn ``anyOf: [X, null]`` into X with ``nullable``: neither exists in a structural schema."""
    flat = dict(node)
    if "$ref" in flat:
        ref = str(flat.pop("$ref"))
        name = ref.removeprefix("#/$defs/")
        if name not in walk.defs:
            raise SchemaConversionError(f"{walk.where}: unresolvable reference {ref}")
        target, walk = _flatten(_mapping(walk.defs[name], walk.where), walk.entering(name))
        flat = {**target, **flat}  # the referring property's description and default win
    if "anyOf" in flat:
        members = _as_list(flat.pop("anyOf"), walk.where)
        others = [member for member in members if member != _NULL]
        if len(members) != 2 or len(others) != 1:
            raise SchemaConversionError(f"{walk.where}: only 'X | None' unions fit a structural schema")
        inner, walk = _flatten(_mapping(others[0], walk.where), walk)
        flat = {**inner, **flat, "nullable": True}
    if "default" in flat and flat["default"] is None:
        del flat["default"]  # absent already means None, and the API server cannot default to null
    return flat, walk


def _properties(value: object, walk: _Walk) -> dict[str, object]:
    props = _mapping(value, walk.where)
    return {"properties": {name: _convert(props[name], walk.at(f".{name}")) for name in sorted(props)}}


def _items(value: object, walk: _Walk) -> dict[str, object]:
    return {"items": _convert(value, walk.at("[]"))}


def _additional_properties(value: object, walk: _Walk) -> dict[str, object]:
    if value is False:
        return {}  # forbidden in structural schemas: pruning (and kubectl's strict field validation) do this job
    if value is True:
        return {"x-kubernetes-preserve-unknown-fields": True}
    return {"additionalProperties": _convert(value, walk.at("{}"))}


def _required(value: object, walk: _Walk) -> dict[str, object]:
    return {"required": sorted(str(name) for name in _as_list(value, walk.where))}


def _const(value: object, _walk: _Walk) -> dict[str, object]:
    return {"enum": [value]}  # no const in OpenAPI v3.0; a one-value enum validates the same


def _examples(value: object, walk: _Walk) -> dict[str, object]:
    examples = _as_list(value, walk.where)
    return {"example": _canonical(examples[0])} if examples else {}  # OpenAPI v3.0 has a single example


def _format(value: object, _walk: _Walk) -> dict[str, object]:
    return {"format": value} if value in _K8S_FORMATS else {}


def _exclusive(bound: str) -> Callable[[object, _Walk], dict[str, object]]:
    """JSON Schema 2020-12 carries the bound itself; OpenAPI v3.0 a boolean flag next to minimum/maximum."""

    def convert(value: object, _walk: _Walk) -> dict[str, object]:
        return {bound: value, f"exclusive{bound.capitalize()}": True}

    return convert


def _unique_items(value: object, _walk: _Walk) -> dict[str, object]:
    return {"x-kubernetes-list-type": "set"} if value else {}  # uniqueItems is forbidden; a set list says the same


_CONVERTERS: Mapping[str, Callable[[object, _Walk], dict[str, object]]] = {
    "additionalProperties": _additional_properties,
    "const": _const,
    "examples": _examples,
    "exclusiveMaximum": _exclusive("maximum"),
    "exclusiveMinimum": _exclusive("minimum"),
    "format": _format,
    "items": _items,
    "properties": _properties,
    "required": _required,
    "uniqueItems": _unique_items,
}


def _convert(node: object, walk: _Walk) -> dict[str, object]:
    flat, walk = _flatten(_mapping(node, walk.where), walk)
    out: dict[str, object] = {}
    for key, value in flat.items():
        converter = _CONVERTERS.get(key)
        if converter is not None:
            out.update(converter(value, walk))
        elif key in _KEPT or key.startswith("x-kubernetes-"):
            out[key] = _canonical(value)
        elif key not in _DROPPED:
            raise SchemaConversionError(f"{walk.where}: {key!r} cannot be expressed in a structural schema")
    if "type" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        raise SchemaConversionError(f"{walk.where}: every node of a structural schema needs a type")
    if not isinstance(out.get("type", ""), str):
        raise SchemaConversionError(f"{walk.where}: a structural schema has exactly one type per node")
    return dict(sorted(out.items()))


def _as_list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise SchemaConversionError(f"{where}: expected a list, got {value!r}")
    return value


def structural_schema(json_schema: Mapping[str, object], *, where: str = "") -> dict[str, object]:
    """Convert a pydantic JSON schema into a Kubernetes structural schema, or raise :class:`SchemaConversionError`."""
    where = where or "<root>"
    return _convert(json_schema, _Walk(_mapping(json_schema.get("$defs", {}), where), (), where))


def _model_schema(model: type[BaseModel], where: str) -> dict[str, object]:
    raw = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_FactoryDefaults)
    return structural_schema(raw, where=where)


def _openapi_schema() -> dict[str, object]:
    spec = _model_schema(ApiBaseSpec, "spec")
    spec["description"] = "Desired state: the service image and everything it needs around it on the cluster."
    status = _model_schema(ApiBaseStatus, "status")
    status["description"] = "Observed state, written by the operator only."
    status_props = dict(_mapping(status["properties"], "status"))
    # One condition per type, merged by type: what metav1.Condition lists declare, and what SSA needs to merge.
    status_props["conditions"] = dict(
        sorted(
            {
                **_mapping(status_props["conditions"], "status.conditions"),
                "x-kubernetes-list-map-keys": ["type"],
                "x-kubernetes-list-type": "map",
            }.items()
        )
    )
    status["properties"] = status_props
    return {
        "description": "ApiBase runs one API Base service: Deployment, Service, autoscaling, mesh, canary and secrets.",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": dict(sorted(spec.items())),
            "status": dict(sorted(status.items())),
        },
        "required": ["spec"],
        "type": "object",
    }


def build_crd() -> dict[str, object]:
    """The complete ``apiextensions.k8s.io/v1`` CustomResourceDefinition for ApiBase, derived from the models."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": KIND.lower(),
                "shortNames": ["ab"],
                "categories": ["all"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": _openapi_schema()},
                    "subresources": {
                        "status": {},
                        "scale": {
                            "specReplicasPath": ".spec.replicas",
                            "statusReplicasPath": ".status.replicas",
                            "labelSelectorPath": ".status.selector",
                        },
                    },
                    "additionalPrinterColumns": [
                        {"name": "Image", "type": "string", "jsonPath": ".spec.image"},
                        {
                            "name": "Ready",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                        },
                        {
                            "name": "Canary",
                            "type": "integer",
                            "description": "Percent of traffic on the canary",
                            "jsonPath": ".status.canaryWeight",
                        },
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                }
            ],
        },
    }


def crd_yaml() -> str:
    """The CRD as committed: a header saying how to regenerate it, then stable, unwrapped YAML."""
    header = (
        f"# Generated from apibase_operator/crd/models.py; do not edit. Regenerate with:\n#   {REGENERATE_COMMAND}\n"
    )
    return header + yaml.safe_dump(build_crd(), sort_keys=False, allow_unicode=True, width=4096)


def _jsonschema(node: Mapping[str, object]) -> dict[str, object]:
    """Translate the OpenAPI dialect back to draft 4, with unknown fields refused like ``kubectl --validate=strict``."""
    out: dict[str, object] = {}
    for key, value in node.items():
        if key == "properties":
            props = _mapping(value, key)
            out[key] = {name: _jsonschema(_mapping(sub, name)) for name, sub in props.items()}
        elif key in {"items", "additionalProperties"}:
            out[key] = _jsonschema(_mapping(value, key))
        elif not key.startswith("x-kubernetes-") and key != "nullable":
            out[key] = value
    if node.get("nullable"):
        out["type"] = [node["type"], "null"]
        if "enum" in out:
            out["enum"] = [*_as_list(out["enum"], "enum"), None]
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def _date_time(value: object) -> bool:
    if isinstance(value, str):
        if not _RFC3339.match(value):
            return False
        datetime.fromisoformat(value)  # ranges: month 13 or hour 25 raise ValueError
    return True


@functools.cache
def _validator() -> Draft4Validator:
    schema = _jsonschema(_openapi_schema())
    # What the API server checks for every object on top of the schema: its own kind, and a name.
    schema["properties"] = {
        **_mapping(schema["properties"], "<root>"),
        "apiVersion": {"type": "string", "enum": [API_VERSION]},
        "kind": {"type": "string", "enum": [KIND]},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1}},
        },
    }
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    checker = FormatChecker(formats=())
    checker.checks("date-time", raises=ValueError)(_date_time)
    return Draft4Validator(schema, format_checker=checker)


def _path(parts: Iterable[object]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "<root>"


def validate_against_crd(obj: Mapping[str, object]) -> list[str]:
    """Errors the API server would report for this ApiBase manifest (empty when it would be accepted)."""
    errors: list[str] = []
    # jsonschema only takes dicts for "object": a read-only or custom Mapping would be refused as the wrong type.
    for error in _validator().iter_errors(_canonical(obj)):
        path = _path(error.absolute_path)
        if error.validator == "additionalProperties":
            known = _mapping(error.schema.get("properties", {}), path)
            prefix = "" if path == "<root>" else f"{path}."
            errors.extend(f'unknown field "{prefix}{name}"' for name in error.instance if name not in known)
        else:
            errors.append(f"{path}: {error.message}")
    return sorted(errors)
