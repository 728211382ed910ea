"""``apibase new module`` end to end, in a copy of the repository: scaffold, switch on, check, migrate, serve.

The copy gets a CRUD module (``inventory`` with ``warehouse``) and a bare one (``billing``), and exactly the lines
the command prints: the modules in ``shop.main.modules()``, the grants in ``shop.access`` and the layers contract
in ``pyproject.toml``. Then, as a team would: ruff, ruff format, mypy --strict and lint-imports over the whole
copy, the generated tests, ``apibase db upgrade``, and the shop served in process calling the new endpoints.

Everything runs in subprocesses with the copy's ``app`` first on ``PYTHONPATH``: the shared virtualenv's editable
install points at the original checkout, and this process has that ``apibase`` and ``shop`` imported already.
Slow (mypy alone takes a minute), hence an integration test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[5]
BIN = Path(sys.executable).parent
SCAFFOLDS = (["inventory", "--package", "shop", "--resource", "warehouse"], ["billing", "--package", "shop"])

#: Run by the copy's Python: the shop with the new module, on the database ``apibase db upgrade`` migrated.
SERVE = """
import asyncio, json, sys
from pathlib import Path

import httpx

from apibase.testing.service import log_in, service_settings, sign_up
from shop.main import create_app

VIEWER = {"email": "viewer@example.com", "password": "a viewer's long password"}
PATH = "/api/v2/warehouses"


async def main(database: Path) -> dict[str, int]:
    app = create_app(service_settings(database, auto_migrate=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            owner = await sign_up(http, tenant="acme")
            created = await http.post(PATH, json={"name": "Main"}, headers=owner)
            location = created.headers.get("location", f"{PATH}/missing")
            other = await sign_up(http, tenant="globex")
            added = await http.post("/api/v2/auth/users", json={**VIEWER, "roles": ["viewer"]}, headers=owner)
            viewer = await log_in(http, tenant="acme", **VIEWER)
            return {
                "owner creates": created.status_code,
                "owner reads": (await http.get(location, headers=owner)).status_code,
                "owner lists in v1 too": (await http.get("/api/v1/warehouses", headers=owner)).status_code,
                "anonymous lists": (await http.get(PATH)).status_code,
                "anonymous reads": (await http.get(location)).status_code,
                "anonymous creates": (await http.post(PATH, json={"name": "X"})).status_code,
                "other tenant reads": (await http.get(location, headers=other)).status_code,
                "other tenant deletes": (await http.delete(location, headers=other)).status_code,
                "owner adds a viewer": added.status_code,
                "viewer reads": (await http.get(location, headers=viewer)).status_code,
                "viewer creates": (await http.post(PATH, json={"name": "X"}, headers=viewer)).status_code,
                "owner deletes": (await http.delete(location, headers=owner)).status_code,
            }


print(json.dumps(asyncio.run(main(Path(sys.argv[1])))))
"""


def _copy_repository(target: Path) -> None:
    """The files git knows (committed or not, ignored ones excepted), as a fresh clone of this state would have."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # listed but deleted in the working tree: not part of this state
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _environment(copy: Path, **extra: str) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("APIBASE_")}
    return environment | {"PYTHONPATH": f"{copy / 'app'}:{copy / 'operator'}", **extra}


def _run(copy: Path, *command: str | Path, **extra: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own tools on our own copy
        [str(part) for part in command],
        cwd=copy,
        env=_environment(copy, **extra),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, f"{' '.join(map(str, command))}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _printed(output: str, after: str) -> list[str]:
    """The indented lines the scaffold printed under the line starting with ``after``."""
    lines = output.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(after)) + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(line.strip())
    return block


def _add_import(path: Path, statement: str) -> None:
    """Into the run of ``from <package>.`` imports, in order (what an editor's organise-imports does)."""
    lines = path.read_text().splitlines()
    prefix = statement.partition(".")[0] + "."
    run = [index for index, line in enumerate(lines) if line.startswith(prefix)]
    block = sorted([*(lines[index] for index in run), statement])
    lines[run[0] : run[-1] + 1] = block
    path.write_text("\n".join(lines) + "\n")


def _switch_on(copy: Path, outputs: list[str]) -> None:
    """Apply the printed lines to the shop: modules(), the role policy, the layers contract."""
    main, access, pyproject = copy / "app/shop/main.py", copy / "app/shop/access.py", copy / "pyproject.toml"
    for output in outputs:
        statement, entry = _printed(output, "Add the module")
        _add_import(main, statement)
        text = main.read_text()
        main.write_text(re.sub(r"(\n    return \[[^\]]*)\]", rf"\1, {entry.rstrip(',')}]", text, count=1))
        (container,) = _printed(output, "Have lint-imports")
        text = pyproject.read_text()
        pyproject.write_text(re.sub(r"(\ncontainers = \[[^\]]*)\]", rf"\1, {container.rstrip(',')}]", text, count=1))
    grants, roles = _printed(outputs[0], "admin holds")
    _add_import(access, grants)
    editor, viewer = re.fullmatch(r'"editor": \[\.\.\., (.+)\], "viewer": \[\.\.\., (.+)\]', roles).groups()
    editors, viewers = '"editor": [*CATALOG_PERMISSIONS, *ORDERING_PERMISSIONS', '"viewer": [PRODUCTS_READ, ORDERS_READ'
    text = access.read_text().replace(editors, f"{editors}, {editor}")
    access.write_text(text.replace(viewers, f"{viewers}, {viewer}"))


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository copied, both modules scaffolded and switched on as printed."""
    target = tmp_path_factory.mktemp("repository")
    _copy_repository(target)
    outputs = [_run(target, BIN / "apibase", "new", "module", *arguments) for arguments in SCAFFOLDS]
    _switch_on(target, outputs)
    return target


def test_the_lines_printed_switch_the_module_on(copy: Path) -> None:
    main = (copy / "app/shop/main.py").read_text()
    assert "return [CatalogModule(), OrderingModule(), InventoryModule(), BillingModule()]" in main
    assert "from shop.inventory.module import InventoryModule" in main
    access = (copy / "app/shop/access.py").read_text()
    assert "*INVENTORY_PERMISSIONS" in access
    assert "WAREHOUSES_READ" in access
    assert '"shop.inventory", "shop.billing"' in (copy / "pyproject.toml").read_text()


def test_the_copy_passes_ruff_mypy_and_the_import_contracts(copy: Path) -> None:
    _run(copy, BIN / "ruff", "check", "--no-cache", ".")
    _run(copy, BIN / "ruff", "format", "--no-cache", "--check", ".")
    _run(copy, BIN / "mypy", "--cache-dir", copy / ".mypy_cache")
    contracts = _run(copy, BIN / "lint-imports", "--no-cache")
    assert "Reference service modules: interface > infrastructure > application > domain KEPT" in contracts


def test_the_generated_tests_pass(copy: Path) -> None:
    report = _run(
        copy, BIN / "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/shop/inventory", "tests/unit/shop/billing"
    )
    assert re.search(r"\b\d+ passed\b", report), report
    assert "failed" not in report
    assert "skipped" not in report


def test_migrated_and_served_the_resource_is_protected_and_tenant_scoped(copy: Path, tmp_path: Path) -> None:
    database = tmp_path / "service.db"
    url = f"sqlite+aiosqlite:///{database}"

    migrated = _run(copy, BIN / "apibase", "db", "upgrade", APIBASE_DATABASE_URL=url)
    assert "inventory_0001" in migrated
    statuses = json.loads(_run(copy, sys.executable, "-c", SERVE, database, APIBASE_DATABASE_URL=url))

    assert statuses == {
        "owner creates": 201,
        "owner reads": 200,
        "owner lists in v1 too": 200,
        "anonymous lists": 401,
        "anonymous reads": 401,
        "anonymous creates": 401,
        "other tenant reads": 404,
        "other tenant deletes": 404,
        "owner adds a viewer": 201,
        "viewer reads": 200,
        "viewer creates": 403,
        "owner deletes": 204,
    }
