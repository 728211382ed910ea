"""Fixtures for istio/: the objects, and two independent validations of them.

1. ``schemas/*.json``: JSON schemas written by hand from the Istio API reference (Gateway, PeerAuthentication,
   AuthorizationPolicy, Telemetry). They refuse unknown fields (as ``kubectl apply``'s strict field validation
   does) and encode the rules Istio's validation adds to the field types (enums, required fields, a CUSTOM
   action needs a provider, selector and targetRef exclude each other, ...). jsonschema checks them.
2. The npm package ``@kubernetes-models/istio`` (pinned below), whose validators are compiled from Istio's own CRD
   schemas. It ships no plain JSON schemas (only that compiled code), so jsonschema cannot use it: a small Node
   script (``validate_istio.mjs``) runs its validators instead. The package is installed on first use into
   ``.cache/npm`` at the repository root (git-ignored) with ``npm install`` from the registry, so this works on a
   fresh machine; later runs reuse it.

Rendering with ``kubectl kustomize`` is skipped, with the reason in pytest's summary, when kubectl is missing
(CI machines have it); everything else reads the files directly and always runs.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
ISTIO = REPO / "istio"
HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"
#: The Istio models package and the version these tests pin (generated from Istio 1.29's CRDs).
ISTIO_MODELS_PACKAGE = "@kubernetes-models/istio"
ISTIO_MODELS_VERSION = "3.0.1"
NPM_PREFIX = REPO / ".cache" / "npm"
SCHEMA_FILES = {
    ("networking.istio.io/v1", "Gateway"): "gateway.json",
    ("security.istio.io/v1", "PeerAuthentication"): "peerauthentication.json",
    ("security.istio.io/v1", "AuthorizationPolicy"): "authorizationpolicy.json",
    ("telemetry.istio.io/v1", "Telemetry"): "telemetry.json",
}

type Obj = dict[str, object]


def _documents(path: Path) -> list[Obj]:
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document is not None]


@pytest.fixture
def istio_objects() -> list[Obj]:
    """The objects of the files istio/kustomization.yaml lists, as written (a fresh copy per test)."""
    kustomization = yaml.safe_load((ISTIO / "kustomization.yaml").read_text(encoding="utf-8"))
    return [obj for entry in kustomization["resources"] for obj in _documents(ISTIO / entry)]


@pytest.fixture(scope="session")
def istio_schema() -> Callable[[str, str], dict[str, object] | None]:
    """The hand-written schema of an (apiVersion, kind), None when there is none."""

    @functools.cache
    def load(api_version: str, kind: str) -> dict[str, object] | None:
        name = SCHEMA_FILES.get((api_version, kind))
        return None if name is None else json.loads((SCHEMAS / name).read_text(encoding="utf-8"))

    return load


def _installed_version(package_json: Path) -> str | None:
    try:
        return str(json.loads(package_json.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def istio_models() -> Path:
    """``node_modules`` holding the pinned @kubernetes-models/istio; installed from the npm registry if missing."""
    node_modules = NPM_PREFIX / "node_modules"
    package_json = node_modules / ISTIO_MODELS_PACKAGE / "package.json"
    if _installed_version(package_json) != ISTIO_MODELS_VERSION:
        npm = shutil.which("npm")
        assert npm is not None, "npm is needed to install the Istio models (it comes with Node.js)"
        NPM_PREFIX.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [
                npm,
                "install",
                "--prefix",
                str(NPM_PREFIX),
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"{ISTIO_MODELS_PACKAGE}@{ISTIO_MODELS_VERSION}",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert result.returncode == 0, f"npm install {ISTIO_MODELS_PACKAGE} failed:\n{result.stderr}"
        assert _installed_version(package_json) == ISTIO_MODELS_VERSION
    return node_modules


@pytest.fixture(scope="session")
def validate_with_istio_models(istio_models: Path) -> Callable[[list[Obj]], list[list[str]]]:
    """Per object, the errors the package's validators report (an unknown kind is an error, never a pass)."""
    node = shutil.which("node")
    assert node is not None, "Node.js is needed to run the Istio models' validators"

    def validate(objects: list[Obj]) -> list[list[str]]:
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [node, str(HERE / "validate_istio.mjs"), str(istio_models)],
            input=json.dumps(objects),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, f"validate_istio.mjs failed:\n{result.stderr}"
        errors: list[list[str]] = json.loads(result.stdout)
        assert len(errors) == len(objects)
        return errors

    return validate


@pytest.fixture(scope="session")
def kustomize_istio() -> list[Obj]:
    """``kubectl kustomize istio``; skipped when kubectl is missing."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: cannot render istio/kustomization.yaml (CI machines have it)")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [kubectl, "kustomize", str(ISTIO)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, f"kubectl kustomize istio failed:\n{result.stderr}"
    return [document for document in yaml.safe_load_all(result.stdout) if document is not None]
