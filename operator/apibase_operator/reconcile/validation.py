"""Validation beyond the models: the ApiBase's name, and the rendered objects (``render --validate``, the tests).

The name becomes the name of the Service and the Deployment, so it must be what a Service name must be; the
operator refuses any other (``Degraded``, reason ``InvalidName``) and so does ``render``.

Rendered core kinds go to kubernetes-validate in strict mode (unknown fields are errors), for a Kubernetes minor
whose schemas it ships (:func:`supported_kubernetes_versions`; any other is refused once, up front); the Istio
and Dapr kinds to the hand-written schemas in :mod:`.schemas`, plus the one rule a schema cannot say: the
weights of a route's destinations sum to 100.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
from kubernetes_validate.utils import all_versions  # type: ignore[import-untyped]

from apibase_operator.reconcile.schemas import schema_for

__all__ = [
    "KUBERNETES_VERSION",
    "MAX_NAME_LENGTH",
    "KubernetesVersionNotSupportedError",
    "kubernetes_minor",
    "name_problem",
    "supported_kubernetes_versions",
    "validate_object",
    "validate_objects",
]

#: The oldest Kubernetes minor the rendered objects must be valid for (and one kubernetes-validate ships).
KUBERNETES_VERSION = "1.31"
#: A Service name is an RFC 1035 label: at most 63 characters.
MAX_NAME_LENGTH = 63
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_VERSION = re.compile(r"v?(\d+)\.(\d+)(\.\d+)?")
_TOTAL_WEIGHT = 100


class KubernetesVersionNotSupportedError(ValueError):
    """``--kubernetes-version`` names a version kubernetes-validate has no schemas for; the message says which."""


def name_problem(name: str) -> str | None:
    """Why ``metadata.name`` cannot name the Service and Deployment (a DNS-1035 label); None when it can."""
    if len(name) > MAX_NAME_LENGTH:
        return f"{name!r} is longer than {MAX_NAME_LENGTH} characters (it names the Service)"
    if _DNS_1035_LABEL.fullmatch(name) is None:
        return (
            f"{name!r} is not a DNS-1035 label (it names the Service): lower-case letters, digits and '-', "
            "starting with a letter and ending with a letter or digit"
        )
    return None


@cache
def supported_kubernetes_versions() -> tuple[str, ...]:
    """The Kubernetes minors (``1.25``) whose schemas the installed kubernetes-validate ships, oldest first."""
    minors: dict[str, None] = {}
    for version in all_versions():
        major, minor = str(version).split(".")[:2]
        minors[f"{major}.{minor}"] = None
    return tuple(minors)


def kubernetes_minor(version: str) -> str:
    """``1.30``, ``v1.30`` or ``1.30.2`` as ``1.30``; a version without shipped schemas raises, naming the range."""
    match = _VERSION.fullmatch(version.strip())
    minor = f"{int(match[1])}.{int(match[2])}" if match is not None else None
    supported = supported_kubernetes_versions()
    if minor not in supported:
        raise KubernetesVersionNotSupportedError(
            f"Kubernetes version {version!r} is not supported: kubernetes-validate "
            f"{kubernetes_validate.__version__} ships schemas for {supported[0]} to {supported[-1]}"
        )
    return minor


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
    except kubernetes_validate.SchemaNotFoundError as error:
        return [str(error.message)]
    return []


def validate_object(obj: Mapping[str, object], kubernetes_version: str = KUBERNETES_VERSION) -> list[str]:
    """Problems with one object as ``Kind/name: path: message`` lines; empty when it is valid.

    Raises :class:`KubernetesVersionNotSupportedError` for a version without shipped schemas.
    """
    schema = schema_for(str(obj.get("apiVersion")), str(obj.get("kind")))
    problems = (
        _core_problems(obj, kubernetes_minor(kubernetes_version)) if schema is None else _custom_problems(obj, schema)
    )
    return [f"{_describe(obj)}: {problem}" for problem in problems]


def validate_objects(
    objects: Iterable[Mapping[str, object]], kubernetes_version: str = KUBERNETES_VERSION
) -> list[str]:
    """Problems with all objects, in order; an unsupported version raises before any object is looked at."""
    minor = kubernetes_minor(kubernetes_version)
    return [problem for obj in objects for problem in validate_object(obj, minor)]
