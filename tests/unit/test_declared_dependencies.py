"""Every third-party module the service and the operator import is installed with the dependencies they declare.

The service image installs the project's main dependencies, the operator image only the ``operator`` extra (pip
adds what those require in turn). A module that only a dev or test extra happens to install passes every other
test, since the test environment has everything, and crashes the image at start-up: issue 11 was ``httpx``, used
by ``app/apibase/security.py`` but declared only in the extras. The source is parsed, not imported, so an
import inside a function counts as much as one at the top of a module.

The secrets providers' SDKs are extras of the service (``aws``, ``vault``; the image has them only when built with
``SERVICE_EXTRAS``): only their adapter modules (``EXTRA_ADAPTERS``) may import them, and every other module may
import those adapters only inside a function, so the service starts without the SDKs.
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
FIRST_PARTY = {"apibase", "shop", "apibase_operator"}


def _names(node: ast.AST) -> Iterator[str]:
    """The absolute module names ``node`` imports; ``from a import b`` yields ``a.b`` (b may be a submodule)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
        yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _imports(tree: ast.AST) -> Iterator[str]:
    """Every module imported anywhere in ``tree``."""
    for node in ast.walk(tree):
        yield from _names(node)


def _eager_imports(tree: ast.AST) -> Iterator[str]:
    """The modules imported when ``tree``'s module is: not inside a function, nor under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            yield from (name for child in node.orelse for name in _eager_imports(ast.Module([child], [])))
            continue
        yield from _names(node)
        yield from _eager_imports(node)


def _sources(package: Path, exclude: Iterable[Path]) -> Iterator[Path]:
    excluded = tuple(exclude)
    yield from (path for path in sorted(package.rglob("*.py")) if not any(path.is_relative_to(x) for x in excluded))


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def third_party_imports(package: Path, *, exclude: Iterable[Path] = ()) -> dict[str, set[str]]:
    """Imported third-party module -> the files importing it, for every module under ``package`` (or a file)."""
    found: dict[str, set[str]] = {}
    for path in [package] if package.is_file() else _sources(package, exclude):
        for name in _imports(_parse(path)):
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

#: The service's modules that may import an extra of the service, and which
#: (app/apibase/infrastructure/secrets/factory.py imports them when their provider is selected).
EXTRA_ADAPTERS = {
    Path("app/apibase/infrastructure/secrets/aws.py"): "aws",
    Path("app/apibase/infrastructure/secrets/vault.py"): "vault",
    Path("app/apibase/infrastructure/dapr/call_metadata.py"): "dapr",
    Path("app/apibase/infrastructure/dapr/client.py"): "dapr",
    Path("app/apibase/infrastructure/dapr/state.py"): "dapr",
    Path("app/apibase/infrastructure/secrets/dapr.py"): "dapr",
    Path("app/apibase/infrastructure/events/transports/kafka.py"): "kafka",
    # A package: its modules import each other (app/apibase/infrastructure/events/transports/__init__.py imports it).
    Path("app/apibase/infrastructure/events/transports/rabbitmq"): "rabbitmq",
    # The optional servers (app/apibase/interface/cli/servers/__init__.py imports them when chosen).
    Path("app/apibase/interface/cli/servers/granian.py"): "granian",
    Path("app/apibase/interface/cli/servers/hypercorn.py"): "http3",
}
#: Modules that need an extra only through its adapters, which they import eagerly: loaded as lazily as those
#: (by the factories, when their backend is selected).
EXTRA_DEPENDENTS = {
    Path("app/apibase/infrastructure/dapr/idempotency.py"): "dapr",
    Path("app/apibase/infrastructure/dapr/cache.py"): "dapr",
    Path("app/apibase/infrastructure/events/transports/dapr.py"): "dapr",
}


def _module_name(path: Path) -> str:
    """``app/apibase/x.py`` imports as ``apibase.x``: ``app/`` is a source folder, not a package."""
    return ".".join(path.relative_to("app").with_suffix("").parts)


def eager_importers(package: Path, modules: Iterable[str]) -> dict[str, list[str]]:
    """Module of ``modules`` -> the files under ``package`` that import it (or something in it) at load time.

    A package's own modules importing each other do not count: they are imported with it, when it is used.
    """
    found: dict[str, list[str]] = {}
    for path in _sources(package, ()):
        importer = _module_name(path.relative_to(ROOT))
        for name in _eager_imports(_parse(path)):
            for module in modules:
                if importer.startswith(f"{module}."):
                    continue
                if name == module or name.startswith(f"{module}."):
                    found.setdefault(module, []).append(path.relative_to(ROOT).as_posix())
    return found


def test_the_service_imports_only_what_the_main_dependencies_install() -> None:
    """``app`` minus the test kits (used with the ``testing`` extra) and the extras' adapters runs on the main
    dependencies."""
    kits = [ROOT / "app" / "apibase" / "testing", ROOT / "app" / "shop" / "testing"]
    excluded = [*kits, *(ROOT / adapter for adapter in EXTRA_ADAPTERS)]
    imports = third_party_imports(ROOT / "app", exclude=excluded)
    assert "fastapi.FastAPI" in imports, "the scan finds the service's imports"
    missing = undeclared(imports, installed_by(MAIN))
    assert missing == {}, f"declare these in [project.dependencies] (the service image lacks them): {missing}"


@pytest.mark.parametrize(("adapter", "extra"), EXTRA_ADAPTERS.items(), ids=str)
def test_an_extras_adapter_imports_only_what_the_main_dependencies_and_its_extra_install(
    adapter: Path, extra: str
) -> None:
    imports = third_party_imports(ROOT / adapter)
    assert imports, f"{adapter} imports its extra's SDK (else drop it from EXTRA_ADAPTERS)"
    missing = undeclared(imports, installed_by([*MAIN, *PROJECT["optional-dependencies"][extra]]))
    assert missing == {}, f"declare these in the `{extra}` extra: {missing}"
    assert undeclared(imports, installed_by(MAIN)), f"{adapter} needs nothing from `{extra}`: drop it from the extra"


def test_the_extras_adapters_are_imported_only_when_used() -> None:
    """The service starts without the extras: no module imports their adapters when it is itself imported (but
    an extra's own modules, loaded only when it is used)."""
    lazy = {*EXTRA_ADAPTERS, *EXTRA_DEPENDENTS}
    found = eager_importers(ROOT / "app", [_module_name(module) for module in lazy])
    eager = {module: files for module, files in found.items() if {Path(file) for file in files} - lazy}
    assert eager == {}, "import these adapters inside the function that uses them"


def test_an_eager_import_is_told_from_a_lazy_one() -> None:
    """The check itself: only imports that run when the module loads count."""
    source = """
import a
from b import c
if TYPE_CHECKING:
    import typing_only
else:
    import runtime_too
class K:
    import in_class_body
def f():
    import lazy
async def g():
    from lazy import too
"""
    assert sorted(_eager_imports(ast.parse(source))) == ["a", "b.c", "in_class_body", "runtime_too"]


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
