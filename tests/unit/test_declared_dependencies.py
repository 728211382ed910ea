"""Every third-party module the service and the operator import is installed with the dependencies they declare.

The service image installs the project's main dependencies, the operator image only the ``operator`` extra (pip
adds what those require in turn). A module that only a dev or test extra happens to install passes every other
test, since the test environment has everything, and crashes the image at start-up: issue 11 was ``httpx``, used
by ``app/bootstrap_security.py`` but declared only in the extras. The source is parsed, not imported, so an
import inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import tomllib
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
FIRST_PARTY = {"app", "apibase_operator"}


def _imports(tree: ast.AST) -> Iterator[str]:
    """Absolute module names imported in ``tree``; ``from a import b`` yields ``a.b`` (b may be a submodule)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def third_party_imports(package: Path, *, exclude: Path | None = None) -> dict[str, set[str]]:
    """Imported third-party module -> the files importing it, for every module under ``package``."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        if exclude is not None and path.is_relative_to(exclude):
            continue
        for name in _imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            top = name.partition(".")[0]
            if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                found.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    return found


@cache
def _file_owners() -> dict[str, frozenset[NormalizedName]]:
    """Installed source and extension files -> the distributions whose RECORD lists them."""
    owners: dict[str, set[NormalizedName]] = {}
    for distribution in metadata.distributions():
        name = canonicalize_name(distribution.metadata["Name"])
        for file in distribution.files or ():
            if file.suffix in {".py", ".so"}:
                owners.setdefault(os.path.normpath(distribution.locate_file(file)), set()).add(name)
    return {path: frozenset(names) for path, names in owners.items()}


def providers(module: str) -> frozenset[NormalizedName]:
    """The distributions that install ``module``: the owner of its file, else of its top-level package.

    ``module`` may be ``package.attribute``: then the package is what is looked up. Namespace packages (e.g.
    ``opentelemetry``) have no file of their own and fall back to every distribution contributing to them.
    """
    candidates = [module, module.rpartition(".")[0]] if "." in module else [module]
    for candidate in candidates:
        try:
            spec = importlib.util.find_spec(candidate)
        except (ModuleNotFoundError, ValueError):  # ValueError: a module some test left with no __spec__
            continue
        if spec is not None and spec.has_location and spec.origin is not None:
            owners = _file_owners().get(os.path.normpath(spec.origin))
            if owners:
                return owners
    top = module.partition(".")[0]
    return frozenset(canonicalize_name(name) for name in metadata.packages_distributions().get(top, ()))


def installed_by(requirements: Iterable[str]) -> set[NormalizedName]:
    """The distributions pip installs for ``requirements``: them, their extras and everything they require."""
    installed: set[NormalizedName] = set()
    seen: set[tuple[NormalizedName, frozenset[str]]] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        name, extras = canonicalize_name(requirement.name), frozenset(requirement.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        installed.add(name)
        for text in metadata.requires(name) or ():
            needed = Requirement(text)
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra}) for extra in {"", *extras}):
                pending.append(needed)
    return installed


def undeclared(imports: dict[str, set[str]], installed: set[NormalizedName]) -> dict[str, list[str]]:
    """Imports no distribution in ``installed`` provides -> where they are imported."""
    return {module: sorted(files) for module, files in sorted(imports.items()) if not providers(module) & installed}


OWN_NAME = PROJECT["name"]
MAIN = [text for text in PROJECT["dependencies"] if canonicalize_name(Requirement(text).name) != OWN_NAME]
OPERATOR_EXTRA = PROJECT["optional-dependencies"]["operator"]


def test_the_service_imports_only_what_the_main_dependencies_install() -> None:
    """``app`` minus ``app/testing`` (test helpers, used with the ``testing`` extra) runs on the main dependencies."""
    imports = third_party_imports(ROOT / "app", exclude=ROOT / "app" / "testing")
    assert "fastapi.FastAPI" in imports, "the scan finds the service's imports"
    missing = undeclared(imports, installed_by(MAIN))
    assert missing == {}, f"declare these in [project.dependencies] (the service image lacks them): {missing}"


def test_the_operator_imports_only_what_the_operator_extra_installs() -> None:
    """The operator image installs the ``operator`` extra alone, without the service's dependencies."""
    imports = third_party_imports(ROOT / "operator" / "apibase_operator")
    assert "kopf" in imports, "the scan finds the operator's imports"
    missing = undeclared(imports, installed_by(OPERATOR_EXTRA))
    assert missing == {}, f"declare these in the `operator` extra (the operator image lacks them): {missing}"


def test_a_module_only_an_extra_provides_is_reported() -> None:
    """The check itself: pytest is installed here (the testing extra) but required by no main dependency."""
    assert undeclared({"pytest": {"somewhere.py"}}, installed_by(MAIN)) == {"pytest": ["somewhere.py"]}
    assert undeclared({"fastapi.routing.APIRouter": {"somewhere.py"}}, installed_by(MAIN)) == {}
