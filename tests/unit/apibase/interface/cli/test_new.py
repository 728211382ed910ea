"""``apibase new module``: names checked, nothing overwritten, and output ruff accepts whatever the names.

Type checking, import contracts, the generated tests and serving the result are the integration test's job
(tests/integration/apibase/interface/cli/test_scaffold.py); here, ruff runs on the output for names that sort
before and after ``apibase``, short ones and the longest allowed, since those change the imports' order and which
lines must be split.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apibase.interface.cli.main import cli
from apibase.interface.cli.new import USAGE_EXIT_CODE
from apibase.interface.cli.scaffold import ModuleNames, render
from apibase.interface.cli.scaffold.names import MAX_NAME_LENGTH, InvalidName, plural_of
from apibase.interface.cli.scaffold.tidy import tidy

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[5]
RUFF = Path(sys.executable).parent / "ruff"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A service project: the repository's tool configuration and an empty package ``acme``."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "app" / "acme").mkdir(parents=True)
    (tmp_path / "app" / "acme" / "__init__.py").write_text('"""A service."""\n')
    return tmp_path


def _new(project: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["new", "module", *args, "--root", str(project)])
    return result.exit_code, result.stdout, result.stderr


def _written(project: Path) -> list[str]:
    return sorted(str(path.relative_to(project)) for path in project.rglob("*.py"))


def test_a_resource_module_is_written_through_every_layer_with_its_tests(project: Path) -> None:
    code, out, _ = _new(project, "inventory", "--package", "acme", "--resource", "warehouse")

    assert code == 0
    module, tests = "app/acme/inventory", "tests/unit/acme/inventory"
    assert set(_written(project)) == {
        "app/acme/__init__.py",
        *(f"{module}/{path}" for path in ("__init__.py", "module.py")),
        *(f"{module}/domain/{path}" for path in ("__init__.py", "permissions.py", "warehouse.py")),
        *(f"{module}/application/{path}" for path in ("__init__.py", "dto.py", "service.py")),
        *(f"{module}/infrastructure/{path}" for path in ("__init__.py", "mapper.py", "repository.py")),
        *(f"{module}/infrastructure/{path}" for path in ("tables.py", "wiring.py")),
        f"{module}/infrastructure/migrations/inventory_0001_create_warehouses.py",
        *(f"{module}/interface/{path}" for path in ("__init__.py", "http.py")),
        *(f"{tests}/{path}" for path in ("test_module.py", "test_warehouse.py", "test_warehouses_http.py")),
    }
    assert f"created {module}/module.py" in out
    lines = out.splitlines()
    assert "    from acme.inventory.module import InventoryModule" in lines
    assert "    InventoryModule()," in lines
    assert "    from acme.inventory.domain.permissions import INVENTORY_PERMISSIONS, WAREHOUSES_READ" in lines
    assert '    "editor": [..., *INVENTORY_PERMISSIONS], "viewer": [..., WAREHOUSES_READ]' in lines


def test_the_first_revision_and_the_permissions_carry_the_names(project: Path) -> None:
    _new(project, "inventory", "--package", "acme", "--resource", "warehouse")
    module = project / "app" / "acme" / "inventory"

    revision = (module / "infrastructure" / "migrations" / "inventory_0001_create_warehouses.py").read_text()
    assert 'revision: str = "inventory_0001"' in revision
    assert "down_revision: str | Sequence[str] | None = None" in revision
    assert 'sa.Column("tenant_id", sa.String(length=63), nullable=False)' in revision
    assert 'read_write("warehouses")' in (module / "domain" / "permissions.py").read_text()
    assert 'plural="warehouses"' in (module / "interface" / "http.py").read_text()


def test_a_module_without_a_resource_is_a_skeleton(project: Path) -> None:
    code, out, _ = _new(project, "billing", "--package", "acme")

    assert code == 0
    assert [path for path in _written(project) if "billing" in path] == [
        "app/acme/billing/__init__.py",
        "app/acme/billing/application/__init__.py",
        "app/acme/billing/domain/__init__.py",
        "app/acme/billing/infrastructure/__init__.py",
        "app/acme/billing/interface/__init__.py",
        "app/acme/billing/module.py",
        "tests/unit/acme/billing/test_module.py",
    ]
    assert "    BillingModule()," in out.splitlines()
    assert "role policy" not in out


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["Inventory"], "lower-case"),
        (["2nd"], "lower-case"),
        (["in-ventory"], "lower-case"),
        (["double__underscore"], "lower-case"),
        (["class"], "keyword"),
        (["identity"], "kernel's"),
        (["apibase"], "kernel's"),
        (["m" * (MAX_NAME_LENGTH + 1)], f"at most {MAX_NAME_LENGTH}"),
        (["inventory", "--resource", "Warehouse"], "lower-case"),
        (["inventory", "--resource", "permissions"], "overwrite"),
        (["inventory", "--resource", "sheep", "--plural", "sheep"], "must differ"),
        (["inventory", "--plural", "warehouses"], "needs --resource"),
        (["inventory", "--resource", "r" * MAX_NAME_LENGTH], "plural"),
    ],
)
def test_bad_names_are_refused_before_anything_is_written(project: Path, args: list[str], reason: str) -> None:
    code, out, err = _new(project, *args, "--package", "acme")

    assert code == USAGE_EXIT_CODE
    assert reason in err
    assert out == ""
    assert _written(project) == ["app/acme/__init__.py"]


def test_the_package_must_exist(project: Path) -> None:
    code, _, err = _new(project, "inventory", "--package", "shop")

    assert code == USAGE_EXIT_CODE
    assert "is not a package" in err
    assert not (project / "app" / "shop").exists()


def test_nothing_is_overwritten(project: Path) -> None:
    assert _new(project, "inventory", "--package", "acme")[0] == 0
    before = {path: path.read_text() for path in project.rglob("*.py")}

    code, _, err = _new(project, "inventory", "--package", "acme", "--resource", "warehouse")

    assert code == USAGE_EXIT_CODE
    assert "never overwrites" in err
    assert {path: path.read_text() for path in project.rglob("*.py")} == before


def test_existing_tests_are_not_overwritten_either(project: Path) -> None:
    tests = project / "tests" / "unit" / "acme" / "inventory"
    tests.mkdir(parents=True)
    (tests / "test_module.py").write_text("# mine\n")

    code, _, err = _new(project, "inventory", "--package", "acme")

    assert code == USAGE_EXIT_CODE
    assert "test_module.py" in err
    assert (tests / "test_module.py").read_text() == "# mine\n"
    assert not (project / "app" / "acme" / "inventory").exists()


@pytest.mark.parametrize(
    ("singular", "plural"),
    [
        ("warehouse", "warehouses"),
        ("box", "boxes"),
        ("bus", "buses"),
        ("church", "churches"),
        ("category", "categories"),
        ("day", "days"),
        ("stock_item", "stock_items"),
    ],
)
def test_plurals_are_derived_the_regular_way(singular: str, plural: str) -> None:
    assert plural_of(singular) == plural
    assert ModuleNames.parse("acme", "inventory", singular).plural == plural


def test_an_explicit_plural_wins() -> None:
    assert ModuleNames.parse("acme", "zoo", "mouse", "mice").plural == "mice"
    with pytest.raises(InvalidName):
        ModuleNames.parse("acme", "zoo", "mouse", "Mice")


@pytest.mark.parametrize(
    ("package", "module", "resource"),
    [
        ("acme", "inventory", "warehouse"),  # the package sorts after apibase, the module's constants first
        ("aardvark", "zoo", "animal"),  # the package sorts before apibase, the resource's constants first
        ("p", "m", "r"),  # the shortest names: every split line joins again
        ("shop2", "stock_2", "item10"),  # digits sort naturally
        ("a" * MAX_NAME_LENGTH, "b" * MAX_NAME_LENGTH, "c" * (MAX_NAME_LENGTH - 1)),  # every long line splits
    ],
)
def test_ruff_accepts_the_output_whatever_the_names(project: Path, package: str, module: str, resource: str) -> None:
    names = ModuleNames.parse(package, module, resource)
    (project / "app" / package).mkdir(exist_ok=True)
    (project / "app" / package / "__init__.py").write_text('"""A service."""\n')
    render(names, today=date(2027, 1, 2)).write(project)
    render(ModuleNames.parse(package, f"{module[:-1]}x"), today=date(2027, 1, 2)).write(project)

    for command in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "--diff", "."]):
        ruff = subprocess.run([RUFF, *command], cwd=project, capture_output=True, text=True, check=False)  # noqa: S603
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_tidy_sorts_imports_and_exports_as_ruff_does() -> None:
    source = "\n".join(
        [
            "from zz.domain import animal_x, Animal, ZOO_PERMISSIONS, ANIMALS_READ",
            "from apibase.b10 import B",
            "from apibase.b2 import A",
            "",
            '__all__ = ["animal_x", "Animal", "ZOO_PERMISSIONS", "ANIMALS_READ"]',
        ]
    )

    assert tidy(source).splitlines() == [
        "from apibase.b2 import A",
        "from apibase.b10 import B",
        "from zz.domain import ANIMALS_READ, ZOO_PERMISSIONS, Animal, animal_x",
        "",
        '__all__ = ["ANIMALS_READ", "ZOO_PERMISSIONS", "Animal", "animal_x"]',
    ]


def test_tidy_splits_a_long_line_where_ruff_format_does() -> None:
    fits_inside = f"class {'A' * 40}Service(GenericService[{', '.join(['B' * 20] * 4)}]):"
    too_long = f"value = function({', '.join([f'argument_{n}={"x" * 30}' for n in range(3)])})"

    assert tidy(fits_inside).splitlines() == [
        f"class {'A' * 40}Service(",
        f"    GenericService[{', '.join(['B' * 20] * 4)}]",
        "):",
    ]
    assert tidy(too_long).splitlines() == [
        "value = function(",
        *(f"    argument_{n}={'x' * 30}," for n in range(3)),
        ")",
    ]
    definition = f"def {'f' * 50}(codec: CursorCodec) -> Callable[[UnitOfWork], {'R' * 40}]:"
    assert tidy(definition).splitlines() == [
        f"def {'f' * 50}(",
        "    codec: CursorCodec,",
        f") -> Callable[[UnitOfWork], {'R' * 40}]:",
    ]
    assert tidy('text = "(not split, however long it is, since it has no brackets outside the string)"') == (
        'text = "(not split, however long it is, since it has no brackets outside the string)"'
    )
