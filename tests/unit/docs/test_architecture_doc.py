"""The docs name only code that exists: a moved or deleted module fails here, not in a newcomer's first hour.

Every repository path (``app/...``, ``operator/...``, ``tests/...``, ...) a document names must match a file or
folder (``<name>`` and ``{a,b}`` are wildcards), and every dotted module name (``apibase.x.y``, ``shop.x.y``,
``apibase_operator.x``) must be a module or package, or a name defined at the top of one
(``apibase.core.context.tenant``).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import Final

import pytest

pytestmark = pytest.mark.unit

ROOT: Final = Path(__file__).resolve().parents[3]
DOCS: Final = ROOT / "docs"
#: The tutorial names the files its reader creates; its own test runs it (tests/unit/docs/test_tutorial_*.py).
NOT_CHECKED: Final = frozenset({DOCS / "tutorial-new-resource.md"})
CHECKED: Final = sorted(
    {*DOCS.glob("*.md"), *(DOCS / "adr").glob("*.md"), ROOT / "README.md"} - NOT_CHECKED,
    key=lambda doc: doc.relative_to(ROOT).as_posix(),
)
#: Dotted names in the docs that are not Python modules, each with what it is.
NOT_MODULES: Final = {
    "apibase.access": "the logger of the one access line per request",
    "apibase.services": "the entry-point group a service package publishes its definition under",
    "apibase.OrderPlaced": "the CloudEvents type of the reference service's OrderPlaced (docs/events.md)",
}
#: Where each top-level import name lives in the repository.
PACKAGES: Final = {"apibase": "app/apibase", "shop": "app/shop", "apibase_operator": "operator/apibase_operator"}
_FOLDERS = ("app", "operator", "tests", "scripts", "bench", "charts", "manifests", "terraform", "istio")
_PATH = re.compile(rf"(?<![\w./-])((?:{'|'.join(_FOLDERS)})/[\w./*<>{{}},-]*[\w*>}}/])")
_DOTTED = re.compile(rf"(?<![\w./:-])((?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_]\w*)+)(?![\w/-])")
_PLACEHOLDER = re.compile(r"<[^>]*>|\{[^}]*\}")


def missing_paths(text: str, root: Path = ROOT) -> list[str]:
    """The repository paths ``text`` names that match nothing under ``root``."""
    missing = []
    for named in dict.fromkeys(_PATH.findall(text)):
        pattern = _PLACEHOLDER.sub("*", named).rstrip("/")
        if not next(root.glob(pattern), None):
            missing.append(named)
    return missing


def missing_modules(text: str, root: Path = ROOT) -> list[str]:
    """The dotted names ``text`` uses that are neither a module nor a top-level name of one under ``root``."""
    return [name for name in dict.fromkeys(_DOTTED.findall(text)) if name not in NOT_MODULES and not exists(name, root)]


def exists(dotted: str, root: Path = ROOT) -> bool:
    first, *rest = dotted.split(".")
    folder = root / PACKAGES[first]
    source = folder / "__init__.py"
    for depth, part in enumerate(rest):
        if (folder / part).is_dir():
            folder = folder / part
            source = folder / "__init__.py"
        elif (folder / f"{part}.py").is_file():
            source = folder / f"{part}.py"
            return depth + 1 == len(rest) or rest[depth + 1] in top_level_names(source)
        else:
            return part in top_level_names(source)
    return True


@cache
def top_level_names(source: Path) -> frozenset[str]:
    """What a module defines or imports at its top level (what ``module.name`` can reach)."""
    if not source.is_file():
        return frozenset()
    names: set[str] = set()
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        match node:
            case ast.FunctionDef() | ast.AsyncFunctionDef() | ast.ClassDef() | ast.TypeAlias():
                names.add(node.name.id if isinstance(node.name, ast.Name) else node.name)
            case ast.Assign():
                names.update(target.id for target in node.targets if isinstance(target, ast.Name))
            case ast.AnnAssign(target=ast.Name(id=name)):
                names.add(name)
            case ast.Import() | ast.ImportFrom():
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return frozenset(names)


@pytest.mark.parametrize("doc", CHECKED, ids=lambda doc: doc.relative_to(ROOT).as_posix())
def test_the_paths_a_document_names_exist(doc: Path) -> None:
    missing = missing_paths(doc.read_text(encoding="utf-8"))
    assert not missing, f"{doc.name} names paths that do not exist: {', '.join(missing)}"


@pytest.mark.parametrize("doc", CHECKED, ids=lambda doc: doc.relative_to(ROOT).as_posix())
def test_the_modules_a_document_names_exist(doc: Path) -> None:
    missing = missing_modules(doc.read_text(encoding="utf-8"))
    assert not missing, f"{doc.name} names modules that do not exist: {', '.join(missing)}"


def test_the_architecture_document_is_checked() -> None:
    assert DOCS / "architecture.md" in CHECKED


@pytest.mark.parametrize(
    "named",
    [
        "`app/apibase/bootstrap.py`",
        "`app/core/result.py`",
        "`operator/apibase_operator/planner.py`",
        "`app/*/billing`",
        "`tests/unit/test_observability.py`",
    ],
)
def test_a_path_that_does_not_exist_is_reported(named: str) -> None:
    assert missing_paths(f"See {named} for the details.") == [named.strip("`")]


@pytest.mark.parametrize(
    "named",
    ["apibase.bootstrap", "apibase.interface.http.catalog", "shop.catalog.nowhere", "apibase.core.result.Nothing"],
)
def test_a_module_that_does_not_exist_is_reported(named: str) -> None:
    assert missing_modules(f"The `{named}` module.") == [named]


@pytest.mark.parametrize(
    "text",
    [
        "`app/apibase/main.py`, `app/*/catalog` and `app/shop/<module>/module.py`",
        "`operator/` and `charts/apibase/values.yaml`",
        "`apibase.core.context.tenant`, `shop.main:create_app`, `apibase_operator.crd.schema`",
        "https://apibase.dev/problems/common.internal, group apibase.dev/v1alpha1, x.apibase.core",
    ],
)
def test_what_exists_or_is_no_module_name_passes(text: str) -> None:
    assert (missing_paths(text), missing_modules(text)) == ([], [])
