"""docs/tutorial-new-resource.md works: its command is run, its code blocks applied, and the result served over HTTP.

Nothing of the tutorial is copied here. The page's ``apibase new module`` command runs in a temporary project and
must print exactly the output the page shows. Then each ``python`` block is applied as its first line says:
``# app/<path>.py`` is a new file, written as it is; ``# app/<path>.py: ...`` edits a file, either one the command
generated (the block's imports merged in, its function replacing the one of that name) or one of the reference
service (``main.py``, ``access.py``: the block must be the real function plus the printed lines, and it is executed
in a copy of that module's namespace, so the repository is never changed). ruff must pass on the result, every
``apibase`` command of the page must exist with the options it is given, and the ``toml`` block must be the
real layers contract plus the new module.

The generated module is imported from the temporary project as ``shop.inventory`` (the ``shop`` package's path is
extended for the test), its table on a declarative base of its own so the real ``Base.metadata`` never sees it.
The shop is then served with the tutorial's ``modules()`` and ``role_policy``, migrated at start-up like any
SQLite database, and the new endpoints are called by the owner, an editor, a viewer, anonymous callers and
another tenant.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from typer.testing import CliRunner

import shop
from apibase.infrastructure.persistence import orm
from apibase.interface.cli.main import cli
from apibase.interface.cli.scaffold.tidy import tidy
from apibase.main import RolePolicyFactory, create_app
from apibase.module import Module
from apibase.testing.service import log_in, service_settings, sign_up
from shop import main as shop_main

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "tutorial-new-resource.md"
PATH = "/api/v2/warehouses"

_FENCE = re.compile(r"^```(?P<language>\w+)\n(?P<code>.*?)^```$", re.DOTALL | re.MULTILINE)
_HEADER = re.compile(r"# (?P<path>app/[\w/]+\.py)(?:: (?P<edit>\S.*))?")
_SCAFFOLD = re.compile(r"apibase new module .+")


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int  # where the code starts in the markdown, 1-based

    @property
    def header(self) -> re.Match[str] | None:
        return _HEADER.fullmatch(self.code.partition("\n")[0])


def _blocks() -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    return [
        Block(fence["language"], fence["code"], text.count("\n", 0, fence.start("code")) + 1)
        for fence in _FENCE.finditer(text)
    ]


def _scaffold_command() -> tuple[list[str], str]:
    """The page's ``apibase new module`` arguments, and the output shown in the block right after it."""
    blocks = _blocks()
    index = next(i for i, block in enumerate(blocks) if block.language == "bash" and _SCAFFOLD.match(block.code))
    (command,) = blocks[index].code.splitlines()
    assert blocks[index + 1].language == "text", f"{DOC.name}:{blocks[index].line}: the output must follow"
    return shlex.split(command)[1:], blocks[index + 1].code


def _merge_imports(target: str, imports: list[str]) -> str:
    """Each import replaces the target's import from the same module, or joins its first-party run; then sorted."""
    lines = target.splitlines()
    for statement in imports:
        source = statement.split(" import ")[0]
        same = [index for index, line in enumerate(lines) if line.startswith(f"{source} import ")]
        if same:
            lines[same[0]] = statement
        else:
            last = max(index for index, line in enumerate(lines) if line.startswith(("from apibase.", "from shop.")))
            lines.insert(last + 1, statement)
    return tidy("\n".join(lines) + "\n")


def _replace_function(path: Path, block: Block) -> None:
    """An edit of a generated file: the block's imports merged, its function replacing the one of that name."""
    tree = ast.parse(block.code)
    (function,) = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    imports = [ast.get_source_segment(block.code, node) or "" for node in tree.body if isinstance(node, ast.ImportFrom)]
    target = path.read_text(encoding="utf-8")
    (old,) = [node for node in ast.walk(ast.parse(target)) if getattr(node, "name", None) == function.name]
    assert isinstance(old, ast.FunctionDef), f"{path} has no function {function.name} to replace"
    lines = target.splitlines()
    new = textwrap.indent(ast.get_source_segment(block.code, function) or "", " " * old.col_offset).splitlines()
    lines[old.lineno - 1 : old.end_lineno] = new
    path.write_text(_merge_imports("\n".join(lines), imports), encoding="utf-8")


def _is_the_real_function_plus_the_printed_lines(block: Block, real: Callable[..., object], printed: str) -> None:
    """The block imports what the command printed, and its function without those names is the repository's."""
    tree = ast.parse(block.code)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            statement = ast.get_source_segment(block.code, node)
            assert f"\n    {statement}\n" in printed, f"{DOC.name}:{block.line}: the command never printed {statement}"
    added = [alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names]
    (function,) = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    shown = ast.get_source_segment(block.code, function) or ""
    for name in added:
        shown = re.sub(rf", \*?{name}(?:\(\))?(?=[\],])", "", shown)
    assert shown == inspect.getsource(real).rstrip("\n"), f"{DOC.name}:{block.line}: the edit drifted from {real}"


@dataclass
class Tutorial:
    project: Path
    output: str
    modules: Callable[[], list[Module]]
    roles: RolePolicyFactory


def _apply(project: Path, printed: str) -> dict[str, dict[str, object]]:
    """Every python block: the project's files first (nothing of the module is imported before they are all
    written), then the edits of the reference service's modules; returns those modules' namespaces as edited."""
    edits: list[tuple[Block, str]] = []
    for block in _blocks():
        if block.language != "python":
            continue
        header = block.header
        assert header is not None, f"{DOC.name}:{block.line}: a python block starts with '# app/<path>.py[: what]'"
        path = project / header["path"]
        if header["edit"] is None:
            assert not path.exists(), f"{DOC.name}:{block.line}: {header['path']} exists; a new file would overwrite"
            path.write_text(block.code, encoding="utf-8")
        elif path.exists():
            _replace_function(path, block)
        else:
            edits.append((block, header["path"].removeprefix("app/").removesuffix(".py").replace("/", ".")))
    namespaces: dict[str, dict[str, object]] = {}
    for block, dotted in edits:
        real = importlib.import_module(dotted)
        namespace = namespaces.setdefault(dotted, dict(vars(real)))
        exec(compile("\n" * (block.line - 1) + block.code, str(DOC), "exec"), namespace)  # noqa: S102 - the page
        (function,) = [node.name for node in ast.parse(block.code).body if isinstance(node, ast.FunctionDef)]
        _is_the_real_function_plus_the_printed_lines(block, getattr(real, function), printed)
    return namespaces


def _unload(prefix: str) -> None:
    for name in [name for name in sys.modules if name == prefix or name.startswith(f"{prefix}.")]:
        del sys.modules[name]
    parent, _, child = prefix.rpartition(".")
    if hasattr(sys.modules[parent], child):
        delattr(sys.modules[parent], child)


@pytest.fixture
def tutorial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tutorial]:
    project = tmp_path / "project"
    (project / "app" / "shop").mkdir(parents=True)
    shutil.copy(ROOT / "app" / "shop" / "__init__.py", project / "app" / "shop" / "__init__.py")
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    arguments, _ = _scaffold_command()
    result = CliRunner().invoke(cli, [*arguments, "--root", str(project)])
    assert result.exit_code == 0, result.output

    class TutorialBase(orm.TenancyPolicy, DeclarativeBase):
        metadata = MetaData(naming_convention=orm.NAMING_CONVENTION)

    monkeypatch.setattr(orm, "Base", TutorialBase)
    monkeypatch.setattr(shop, "__path__", [*shop.__path__, str(project / "app" / "shop")])
    try:
        namespaces = _apply(project, result.stdout)
        yield Tutorial(
            project,
            result.stdout,
            namespaces["shop.main"]["modules"],
            namespaces["shop.access"]["role_policy"],
        )
    finally:
        _unload("shop.inventory")


# -- the page itself -----------------------------------------------------------------------------------------------
def test_the_command_prints_what_the_page_shows(tutorial: Tutorial) -> None:
    assert tutorial.output == _scaffold_command()[1]


def test_the_result_passes_ruff(tutorial: Tutorial) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    for command in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "--diff", "."]):
        checked = subprocess.run([ruff, *command], cwd=tutorial.project, capture_output=True, text=True, check=False)  # noqa: S603
        assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    "line",
    [
        line
        for block in _blocks()
        if block.language == "bash"
        for line in block.code.splitlines()
        if line.startswith("apibase ")
    ],
)
def test_every_apibase_command_of_the_page_exists(line: str) -> None:
    arguments = shlex.split(line, comments=True)[1:]
    result = CliRunner().invoke(cli, [*arguments, "--help"])
    assert result.exit_code == 0, f"{line}: {result.output}"


def test_the_layers_contract_shown_is_the_real_one_plus_the_module() -> None:
    (block,) = [block for block in _blocks() if block.language == "toml"]
    shown = tomllib.loads(block.code)["containers"]
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (real,) = [contract["containers"] for contract in contracts if "containers" in contract]
    assert shown == [*real, "shop.inventory"]


# -- the shop with the module, over HTTP ---------------------------------------------------------------------------
@pytest.fixture
async def http(tutorial: Tutorial, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The shop as the page leaves it: its modules() and role_policy, migrated at start-up (SQLite)."""
    app: FastAPI = create_app(
        service_settings(tmp_path / "service.db"),
        modules=tutorial.modules(),
        api=shop_main.API,
        roles=tutorial.roles,
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield client


async def _user(http: httpx.AsyncClient, owner: dict[str, str], role: str) -> dict[str, str]:
    credentials = {"email": f"{role}@example.com", "password": f"the {role}'s long password"}
    added = await http.post("/api/v2/auth/users", json={**credentials, "roles": [role]}, headers=owner)
    assert added.status_code == 201, added.text
    return await log_in(http, tenant="acme", **credentials)


async def test_the_owner_uses_the_generated_resource_and_the_hand_written_command(http: httpx.AsyncClient) -> None:
    owner = await sign_up(http, tenant="acme")

    created = await http.post(PATH, json={"name": "Main"}, headers=owner)
    assert created.status_code == 201, created.text
    imported = await http.post(f"{PATH}/import", json={"names": ["North", "South"]}, headers=owner)
    assert imported.status_code == 201, imported.text
    assert len(imported.json()["data"]) == 2
    listed = (await http.get(PATH, params={"sort": "name"}, headers=owner)).json()["items"]
    assert [item["name"] for item in listed] == ["Main", "North", "South"]
    assert {item["created_by"] for item in listed} == {created.json()["data"]["created_by"]}
    refused = await http.post(f"{PATH}/import", json={"names": ["East", ""]}, headers=owner)
    assert refused.status_code == 422
    assert (await http.get(PATH, headers=owner)).json()["total"] == 3


async def test_the_grants_of_the_page_hold(http: httpx.AsyncClient) -> None:
    owner = await sign_up(http, tenant="acme")
    editor, viewer = await _user(http, owner, "editor"), await _user(http, owner, "viewer")

    assert (await http.post(f"{PATH}/import", json={"names": ["North"]}, headers=editor)).status_code == 201
    assert (await http.get(PATH, headers=viewer)).status_code == 200
    assert (await http.post(PATH, json={"name": "Main"}, headers=viewer)).status_code == 403
    assert (await http.post(f"{PATH}/import", json={"names": ["South"]}, headers=viewer)).status_code == 403


async def test_anonymous_callers_and_other_tenants_get_nothing(http: httpx.AsyncClient) -> None:
    owner = await sign_up(http, tenant="acme")
    location = (await http.post(PATH, json={"name": "Main"}, headers=owner)).headers["location"]
    other = await sign_up(http, tenant="globex")

    assert (await http.get(PATH)).status_code == 401
    assert (await http.post(f"{PATH}/import", json={"names": ["North"]})).status_code == 401
    assert (await http.get(location, headers=other)).status_code == 404
    assert (await http.get(PATH, headers=other)).json()["items"] == []
