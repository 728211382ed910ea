"""Fixtures for the deployment manifests: kustomize renders, YAML loading and one validator for every kind.

Rendering needs ``kubectl`` (its built-in kustomize, offline); without it the render tests are skipped with the
reason printed in pytest's summary. CI machines and developer machines have kubectl, so there they always run.
Validation: core kinds with kubernetes-validate in strict mode, Dapr Components with the operator's own schema
(:func:`apibase_operator.reconcile.schemas.schema_for`), and the Dapr Configuration and Knative kinds with the
small JSON schemas in ``schemas/`` next to this file.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import VersionNotSupportedError

from apibase_operator.reconcile.schemas import schema_for

REPO = Path(__file__).resolve().parents[4]
MANIFESTS = REPO / "manifests"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
#: The oldest Kubernetes minor the manifests must be valid for (the operator renders for the same one).
KUBERNETES_VERSION = "1.31"
#: Hand-written schemas for kinds neither kubernetes-validate nor the operator's schemas know.
SCHEMA_FILES = {
    ("dapr.io/v1alpha1", "Configuration"): "dapr-configuration.json",
    ("eventing.knative.dev/v1", "Broker"): "knative-broker.json",
    ("eventing.knative.dev/v1", "Trigger"): "knative-trigger.json",
}

type Obj = dict[str, object]
type Render = Callable[[str], list[Obj]]


def describe(obj: Mapping[str, object]) -> str:
    metadata = obj.get("metadata")
    name = metadata.get("name", "?") if isinstance(metadata, Mapping) else "?"
    return f"{obj.get('kind', '?')}/{name}"


def load_yaml_documents(path: Path) -> list[Obj]:
    """Every non-empty document of a YAML file."""
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document is not None]


def kustomization_files(directory: Path) -> list[Path]:
    """The files a kustomization lists under ``resources`` (local files only)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    return [directory / entry for entry in kustomization.get("resources", []) if (directory / entry).is_file()]


def raw_objects(directory: Path) -> list[Obj]:
    """The objects of a kustomization's resource files as written, before kustomize adds anything."""
    return [obj for path in kustomization_files(directory) for obj in load_yaml_documents(path)]


@functools.cache
def _schema(file_name: str) -> dict[str, object]:
    schema = json.loads((SCHEMAS / file_name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _path(parts: Iterable[object]) -> str:
    return ".".join(str(part) for part in parts) or "(root)"


def _custom_problems(obj: Mapping[str, object], schema: Mapping[str, object]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{_path(error.absolute_path)}: {error.message}" for error in validator.iter_errors(obj)]


def validate(obj: Mapping[str, object]) -> list[str]:
    """Problems with one object (empty when valid); a kind nobody has a schema for is a problem too."""
    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    if key in SCHEMA_FILES:
        problems = _custom_problems(obj, _schema(SCHEMA_FILES[key]))
    elif (operator_schema := schema_for(*key)) is not None:
        problems = _custom_problems(obj, operator_schema)
    else:
        try:
            kubernetes_validate.validate(dict(obj), KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems = [f"{_path(error.absolute_path)}: {error.message}"]
        except (kubernetes_validate.SchemaNotFoundError, VersionNotSupportedError) as error:
            problems = [str(error.message)]
        else:
            problems = []
    return [f"{describe(obj)}: {problem}" for problem in problems]


@pytest.fixture(scope="session")
def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl is not installed: cannot render the kustomizations (CI machines have it)")
    return path


@pytest.fixture(scope="session")
def render(kubectl: str) -> Render:
    """``kubectl kustomize DIR`` (DIR relative to the repository root) as a list of objects; cached per run."""

    @functools.cache
    def run(directory: str) -> tuple[Obj, ...]:
        result = subprocess.run(  # noqa: S603 - fixed arguments, a directory of this repository
            [kubectl, "kustomize", str(REPO / directory)], capture_output=True, text=True, check=False, timeout=120
        )
        assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
        return tuple(document for document in yaml.safe_load_all(result.stdout) if document is not None)

    def rendered(directory: str) -> list[Obj]:
        return [json.loads(json.dumps(obj)) for obj in run(directory)]  # a fresh copy per test

    return rendered


@pytest.fixture(scope="session")
def validate_manifest() -> Callable[[Mapping[str, object]], list[str]]:
    """:func:`validate`: problems with one object, empty when it is valid."""
    return validate


@pytest.fixture(scope="session")
def manifest_objects() -> Callable[[Path], list[Obj]]:
    """:func:`raw_objects`: the objects of a kustomization directory's resource files, as written."""
    return raw_objects
