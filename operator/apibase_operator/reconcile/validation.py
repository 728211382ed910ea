"""Offline validation of rendered objects: what ``apibase-operator render --validate`` and the tests run.

Core kinds go to kubernetes-validate in strict mode (unknown fields are errors); the Istio and Dapr kinds
to the hand-written schemas in :mod:`.schemas`, plus the one rule a schema cannot say: the weights of a
route's destinations sum to 100.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
from kubernetes_validate.utils import VersionNotSupportedError  # type: ignore[import-untyped]

from apibase_operator.reconcile.schemas import schema_for

__all__ = ["KUBERNETES_VERSION", "validate_object", "validate_objects"]

#: The oldest Kubernetes minor the rendered objects must be valid for (and one kubernetes-validate ships).
KUBERNETES_VERSION = "1.31"
_TOTAL_WEIGHT = 100


def _describe(obj: Mapping[str, object]) -> str:
    metadata = obj.get("metadata")
    name = metadata.get("name", "?") if isinstance(metadata, Mapping) else "?"
    return f"{obj.get('kind', '?')}/{name}"


def _path(parts: Iterable[object]) -> str:
    return ".".join(str(part) for part in parts) or "(root)"


def _route_weight_problems(obj: Mapping[str, object]) -> list[str]:
    """Istio refuses a multi-destination route whose weights do not add up to 100."""
    spec = obj.get("spec")
    routes = spec.get("http", []) if isinstance(spec, Mapping) else []
    problems = []
    for index, route in enumerate(routes):
        destinations = route.get("route", [])
        total = sum(int(destination.get("weight", 0)) for destination in destinations)
        if len(destinations) > 1 and total != _TOTAL_WEIGHT:
            problems.append(f"spec.http.{index}.route: weights sum to {total}, not 100")
    return problems


def _custom_problems(obj: Mapping[str, object], schema: Mapping[str, object]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(obj), key=lambda error: [str(part) for part in error.absolute_path])
    problems = [f"{_path(error.absolute_path)}: {error.message}" for error in errors]
    if not problems and obj.get("kind") == "VirtualService":
        problems = _route_weight_problems(obj)
    return problems


def _core_problems(obj: Mapping[str, object], kubernetes_version: str) -> list[str]:
    try:
        kubernetes_validate.validate(dict(obj), kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{_path(error.absolute_path)}: {error.message}"]
    except (kubernetes_validate.SchemaNotFoundError, VersionNotSupportedError) as error:
        return [str(error.message)]
    return []


def validate_object(obj: Mapping[str, object], kubernetes_version: str = KUBERNETES_VERSION) -> list[str]:
    """Problems with one object as ``Kind/name: path: message`` lines; empty when it is valid."""
    schema = schema_for(str(obj.get("apiVersion")), str(obj.get("kind")))
    problems = _core_problems(obj, kubernetes_version) if schema is None else _custom_problems(obj, schema)
    return [f"{_describe(obj)}: {problem}" for problem in problems]


def validate_objects(
    objects: Iterable[Mapping[str, object]], kubernetes_version: str = KUBERNETES_VERSION
) -> list[str]:
    """Problems with all objects, in order."""
    return [problem for obj in objects for problem in validate_object(obj, kubernetes_version)]
