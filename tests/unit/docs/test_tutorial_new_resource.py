"""docs/tutorial-new-resource.md works: its code blocks are imported as the modules they name and served over HTTP.

Nothing of the tutorial is copied here. A block whose first line is ``# app/<path>.py`` is a complete module: a
meta-path finder serves it as ``app.<path>`` (compiled against the markdown file, so a traceback points at the
line in the tutorial), together with the new packages it lives in, for as long as one test runs. A block headed
``# app/<path>.py: ...`` is an edit of an existing module: it must parse, import only names that exist, and touch
only names the module has.

The tutorial's table derives from the service's ``Base``, as it must for migrations. Here ``Base`` is swapped for
a fresh declarative base with the same rules (tenancy policy, naming convention) while the blocks are imported, so
the ``suppliers`` table never reaches the real ``Base.metadata`` (which the migration tests compare with the
migrations).

The tutorial configures no security, and its resource must be secure all the same: served behind the service's
authentication middleware, it answers anonymous callers 401, callers without ``suppliers:*`` 403 and another
tenant 404, and works for its owner.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase

from apibase.application.cursor import CursorCodec
from apibase.core.error_codes import CommonErrorCode
from apibase.core.settings import Settings
from apibase.infrastructure.persistence import orm
from apibase.infrastructure.persistence.database import create_engine, create_session_factory
from apibase.infrastructure.persistence.schema import metadata as service_metadata
from apibase.interface.http.problems import install_problem_handlers
from apibase.interface.http.security.authentication import AuthenticationMiddleware
from apibase.testing.callers import CallerTokens
from apibase.testing.roundtrip import assert_resources_round_trip

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "tutorial-new-resource.md"
PROBLEM_JSON = "application/problem+json"

_FENCE = re.compile(r"^```python\n(?P<code>.*?)^```$", re.DOTALL | re.MULTILINE)
_NEW_MODULE = re.compile(r"# (?P<path>app/[\w/]+\.py)")
_EDIT = re.compile(r"# (?P<path>app/[\w/]+\.py): \S.*")

#: The layers the tutorial walks through, in order; a block dropped or renamed fails here first.
EXPECTED_MODULES = (
    "apibase.domain.suppliers.supplier",
    "apibase.application.suppliers.dto",
    "apibase.application.suppliers.service",
    "apibase.infrastructure.persistence.suppliers.tables",
    "apibase.infrastructure.persistence.suppliers.mapper",
    "apibase.infrastructure.persistence.suppliers.repository",
    "apibase.interface.http.suppliers",
    "apibase.infrastructure.persistence.suppliers.wiring",
)
EXPECTED_EDITS = ("apibase.infrastructure.persistence.schema", "apibase.bootstrap", "apibase.main")


@dataclass(frozen=True)
class Block:
    module: str
    path: str
    code: str
    line: int  # where the code starts in the markdown, 1-based

    def compile(self) -> CodeType:
        """Compiled against the markdown file, shifted so that line numbers are the tutorial's own."""
        return compile("\n" * (self.line - 1) + self.code, str(DOC), "exec", dont_inherit=True)


def _blocks() -> tuple[list[Block], list[Block]]:
    """(new modules, edits of existing modules), in the tutorial's order."""
    text = DOC.read_text(encoding="utf-8")
    modules: list[Block] = []
    edits: list[Block] = []
    for fence in _FENCE.finditer(text):
        code = fence.group("code")
        header = code.partition("\n")[0]
        line = text.count("\n", 0, fence.start("code")) + 1
        if new := _NEW_MODULE.fullmatch(header):
            modules.append(Block(_dotted(new.group("path")), new.group("path"), code, line))
        elif edit := _EDIT.fullmatch(header):
            edits.append(Block(_dotted(edit.group("path")), edit.group("path"), code, line))
        else:
            pytest.fail(f"{DOC.name}:{line}: a python block must start with '# app/<path>.py' (or '...py: what')")
    return modules, edits


def _dotted(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


class TutorialModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the tutorial's modules, and the packages only they live in, from the markdown."""

    def __init__(self, blocks: Sequence[Block]) -> None:
        self.blocks = {block.module: block for block in blocks}
        self.packages: set[str] = set()
        parents = {name.rpartition(".")[0] for name in self.blocks}
        prefixes = {parent.rsplit(".", depth)[0] for parent in parents for depth in range(parent.count(".") + 1)}
        for name in sorted(prefixes, key=len):  # parents first: find_spec imports a package's parent
            if name.rpartition(".")[0] in self.packages or importlib.util.find_spec(name) is None:
                self.packages.add(name)

    @property
    def names(self) -> set[str]:
        return set(self.blocks) | self.packages

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in self.blocks:
            return importlib.machinery.ModuleSpec(fullname, self, origin=f"{DOC}#{self.blocks[fullname].path}")
        if fullname in self.packages:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def exec_module(self, module: ModuleType) -> None:
        block = self.blocks.get(module.__name__)
        if block is not None:
            exec(block.compile(), module.__dict__)  # noqa: S102 - the code is the tutorial's, read from the repo

    def unload(self) -> None:
        """Forget every module served, including the attributes the import system set on real parent packages."""
        for name in self.names:
            module = sys.modules.pop(name, None)
            parent_name, _, child = name.rpartition(".")
            parent = sys.modules.get(parent_name)
            if module is not None and parent is not None and getattr(parent, child, None) is module:
                delattr(parent, child)


@dataclass(frozen=True)
class Tutorial:
    modules: Mapping[str, ModuleType]
    edits: Sequence[Block]
    metadata: MetaData


@pytest.fixture
def tutorial(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tutorial]:
    modules, edits = _blocks()

    class TutorialBase(orm.TenancyPolicy, DeclarativeBase):
        metadata = MetaData(naming_convention=orm.NAMING_CONVENTION)

    monkeypatch.setattr(orm, "Base", TutorialBase)
    finder = TutorialModules(modules)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    try:
        loaded = {block.module: importlib.import_module(block.module) for block in modules}
        yield Tutorial(loaded, edits, TutorialBase.metadata)
    finally:
        finder.unload()


@pytest.fixture
async def engine(tutorial: Tutorial, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'tutorial.db'}"))
    async with engine.begin() as connection:
        await connection.run_sync(tutorial.metadata.create_all)
    yield engine
    await engine.dispose()


def build_app(tutorial: Tutorial, engine: AsyncEngine, callers: CallerTokens | None = None) -> FastAPI:
    """What the tutorial's wiring step does in ``create_app``, minus everything unrelated to suppliers."""
    wiring = tutorial.modules["apibase.infrastructure.persistence.suppliers.wiring"]
    routers = tutorial.modules["apibase.interface.http.suppliers"]
    service = wiring.build_supplier_service(
        create_session_factory(engine), cursor_codec=CursorCodec("tutorial-test-cursor-secret")
    )
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(routers.suppliers_router(lambda: service))
    if callers is not None:
        app.add_middleware(AuthenticationMiddleware, access_token=callers, api_key=callers)
    return app


@pytest.fixture
def callers() -> CallerTokens:
    return CallerTokens()


@pytest.fixture
async def anonymous(tutorial: Tutorial, engine: AsyncEngine, callers: CallerTokens) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(tutorial, engine, callers))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def client(tutorial: Tutorial, engine: AsyncEngine, callers: CallerTokens) -> AsyncIterator[httpx.AsyncClient]:
    """A caller of tenant ``acme`` granted what the resource needs: ``suppliers:read`` and ``suppliers:write``."""
    transport = httpx.ASGITransport(app=build_app(tutorial, engine, callers))
    owner = callers.headers(tenant="acme", permissions={"suppliers:read", "suppliers:write"})
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=owner) as http:
        yield http


# -- the page itself -----------------------------------------------------------------------------------------------
def test_the_tutorial_walks_through_every_layer_in_order() -> None:
    modules, edits = _blocks()
    assert [block.module for block in modules] == list(EXPECTED_MODULES)
    assert [block.module for block in edits] == list(EXPECTED_EDITS)
    for block in modules:
        assert not (ROOT / block.path).exists(), f"{block.path} exists in the repository: the tutorial would shadow it"
    for block in edits:
        assert (ROOT / block.path).is_file(), f"the tutorial edits {block.path}, which does not exist"


def test_the_tutorial_mentions_the_migration_commands() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert 'apibase db revision -m "add suppliers"' in text
    assert "apibase db upgrade" in text


def test_edits_import_real_names_and_touch_existing_ones(tutorial: Tutorial) -> None:
    for block in tutorial.edits:
        tree = ast.parse(block.code, filename=f"{DOC.name}:{block.line}")
        target = importlib.import_module(block.module)
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                source = importlib.import_module(node.module)
                missing = [alias.name for alias in node.names if not hasattr(source, alias.name)]
                assert not missing, f"{DOC.name}:{block.line + node.lineno - 1}: {node.module} has no {missing}"
            elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                assert hasattr(target, node.name), f"{block.path} has no {node.name} to edit"
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                assert all(hasattr(target, name) for name in names), f"{block.path} has no {names} to edit"


def test_the_table_stays_out_of_the_service_schema(tutorial: Tutorial) -> None:
    row = tutorial.modules["apibase.infrastructure.persistence.suppliers.tables"].SupplierRow
    assert "suppliers" in tutorial.metadata.tables
    assert row.metadata is tutorial.metadata
    assert "suppliers" not in service_metadata.tables


# -- the resource over HTTP ----------------------------------------------------------------------------------------
async def _create(client: httpx.AsyncClient, name: str, country: str, lead_time_days: int) -> httpx.Response:
    response = await client.post(
        "/suppliers", json={"name": name, "country": country, "lead_time_days": lead_time_days}
    )
    assert response.status_code == 201, response.text
    return response


def _problem(response: httpx.Response, status: int, code: CommonErrorCode) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert (body["status"], body["code"]) == (status, code.value)


async def test_create_read_list_update_delete(
    tutorial: Tutorial, engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    created = await _create(client, "Acme", "DE", 5)
    supplier = created.json()["data"]
    location, etag = created.headers["location"], created.headers["etag"]
    assert location == f"/suppliers/{supplier['id']}"
    assert (supplier["name"], supplier["version"], supplier["active"]) == ("Acme", 1, True)

    read = await client.get(location)
    assert read.status_code == 200
    assert read.headers["etag"] == etag
    assert read.json()["data"] == supplier
    assert (await client.get(location, headers={"If-None-Match": etag})).status_code == 304

    await _create(client, "Bolt", "DE", 9)
    await _create(client, "Cogs", "FR", 2)
    german = await client.get("/suppliers", params={"country": "DE", "sort": "-lead_time_days"})
    assert german.status_code == 200
    assert [item["name"] for item in german.json()["items"]] == ["Bolt", "Acme"]
    assert german.json()["total"] == 2
    quick = await client.get("/suppliers", params={"lead_time_days__lte": 5, "name__contains": "o", "sort": "name"})
    assert [item["name"] for item in quick.json()["items"]] == ["Cogs"]
    _problem(await client.get("/suppliers", params={"sort": "version"}), 422, CommonErrorCode.VALIDATION_FAILED)
    invalid = await client.post("/suppliers", json={"name": "", "country": "Germany"})
    _problem(invalid, 422, CommonErrorCode.VALIDATION_FAILED)

    patched = await client.patch(location, json={"lead_time_days": 3}, headers={"If-Match": etag})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["data"]["lead_time_days"], patched.json()["data"]["version"]) == (3, 2)
    assert patched.headers["etag"] != etag
    stale = await client.patch(location, json={"lead_time_days": 4}, headers={"If-Match": etag})
    _problem(stale, 412, CommonErrorCode.PRECONDITION_FAILED)
    assert (await client.get(location)).json()["data"]["lead_time_days"] == 3

    deleted = await client.delete(location)
    assert deleted.status_code == 204
    _problem(await client.get(location), 404, CommonErrorCode.NOT_FOUND)
    assert [item["name"] for item in (await client.get("/suppliers", params={"sort": "name"})).json()["items"]] == [
        "Bolt",
        "Cogs",
    ]

    table = tutorial.metadata.tables["suppliers"]
    async with engine.connect() as connection:
        statement = select(table.c.deleted_at).where(table.c.id == uuid.UUID(supplier["id"]))
        deleted_at = (await connection.execute(statement)).scalar_one()
    assert deleted_at is not None, "a delete is a soft delete: the row stays, marked"


async def test_openapi_documents_the_allowlisted_filters_and_sorts(tutorial: Tutorial, engine: AsyncEngine) -> None:
    schema = build_app(tutorial, engine).openapi()
    assert set(schema["paths"]) == {"/suppliers", "/suppliers/{entity_id}"}
    assert set(schema["paths"]["/suppliers/{entity_id}"]) == {"get", "put", "patch", "delete"}
    parameters = {parameter["name"] for parameter in schema["paths"]["/suppliers"]["get"]["parameters"]}
    assert {"country", "name__contains", "lead_time_days__gte", "lead_time_days__lte", "active", "sort"} <= parameters
    assert {"offset", "limit", "count", "created_at__gte"} <= parameters
    assert "version" not in parameters


async def test_what_the_resource_shows_it_takes_back(client: httpx.AsyncClient) -> None:
    """The shared round-trip check covers the new resource with nothing written for it."""
    assert await assert_resources_round_trip(client, "/openapi.json") == ["/suppliers"]


# -- secure without a line about security --------------------------------------------------------------------------
async def test_the_resource_is_protected_and_tenant_scoped_by_default(
    tutorial: Tutorial, client: httpx.AsyncClient, anonymous: httpx.AsyncClient, callers: CallerTokens
) -> None:
    location = (await _create(client, "Acme", "DE", 5)).headers["location"]
    reader = callers.headers(tenant="acme", permissions={"suppliers:read"})
    other_tenant = callers.headers(tenant="globex", permissions={"suppliers:read", "suppliers:write"})

    assert (await anonymous.get(location)).status_code == 401
    assert (await anonymous.post("/suppliers", json={"name": "Eve", "country": "DE"})).status_code == 401
    assert (await anonymous.get(location, headers=reader)).status_code == 200
    denied = await anonymous.patch(location, json={"lead_time_days": 1}, headers=reader)
    assert (denied.status_code, denied.json()["missing"]) == (403, ["suppliers:write"])
    for method in ("GET", "PATCH", "DELETE"):
        body = {"lead_time_days": 1} if method == "PATCH" else None
        hidden = await anonymous.request(method, location, json=body, headers=other_tenant)
        _problem(hidden, 404, CommonErrorCode.NOT_FOUND)
    assert (await anonymous.get("/suppliers", headers=other_tenant)).json()["items"] == []
    assert (await client.get(location)).json()["data"]["lead_time_days"] == 5
    assert "tenant_id" in tutorial.metadata.tables["suppliers"].c
