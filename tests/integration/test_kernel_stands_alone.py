"""The kernel stands alone: delete the reference service from a copy of the repository and the kernel still passes.

Issue 12, item 1. The copy holds the working tree's files (``git ls-files``, untracked ones included) without
``app/shop`` and every ``tests/**/shop`` folder; its ``pyproject.toml`` loses what names the reference service (its
``apibase.services`` entry point, its import contracts, its root package), as a team deleting it would edit it. In
the copy, ruff, ``ruff format --check``, mypy, lint-imports and the kernel's unit tests must all pass.

Two things would let ``shop`` quietly survive the deletion, and both are shut off:

- the shared venv's editable install puts the *original* ``app`` on ``sys.path`` (a ``.pth``), so ``import shop``
  would still succeed: a tripwire ``app/shop/__init__.py`` in the copy, first on ``PYTHONPATH`` and on mypy's
  path, raises ``ImportError`` instead;
- the venv's installed metadata still declares the ``shop`` entry point that ``apibase serve`` and ``apibase db``
  load: the copy gets the metadata an install of *its* ``pyproject.toml`` would write, ahead of the venv's.

The tools run at once, as subprocesses of this venv, in the copy; each test waits for one of them. Nothing is
written to the real tree: no shared caches, no coverage data (the coverage hooks are kept out of the children).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: A cold mypy and the kernel's unit tests, side by side on a loaded machine.
TIMEOUT_SECONDS = 900
#: A module path or package name of the reference service in a TOML value: ``"shop"``, ``"shop.catalog"``.
_NAMES_SHOP = re.compile(r"""["']shop["'.]""")
_TRIPWIRE = '''"""Tripwire: the reference service is deleted in this copy; nothing may import it from elsewhere."""

raise ImportError("the reference service (shop) is deleted in this copy of the repository")
'''
#: Run in the copy: the tripwire fires, no service is installed, and the kernel serves alone.
_NOTHING_OF_SHOP_IS_LEFT = """
from importlib.metadata import entry_points
try:
    import shop
except ImportError as exc:
    assert "is deleted in this copy" in str(exc), exc
else:
    raise AssertionError(f"shop is importable from {shop.__file__}")
from apibase.service import SERVICES_GROUP, load_service
assert not entry_points(group=SERVICES_GROUP), entry_points(group=SERVICES_GROUP)
assert list(load_service().modules()) == []
"""
STEPS: Mapping[str, list[str]] = {
    "nothing of shop is left": [sys.executable, "-c", _NOTHING_OF_SHOP_IS_LEFT],
    "ruff check": [str(BIN / "ruff"), "check", "--no-cache", "."],
    "ruff format": [str(BIN / "ruff"), "format", "--check", "--no-cache", "."],
    "mypy": [str(BIN / "mypy")],
    "lint-imports": [str(BIN / "lint-imports"), "--no-cache"],
    "kernel unit tests": [str(BIN / "pytest"), "tests/unit/apibase", "-q", "-p", "no:cacheprovider", "-x"],
}


def _of_the_reference_service(path: Path) -> bool:
    parts = path.parts
    return parts[:2] == ("app", "shop") or (parts[0] == "tests" and "shop" in parts[:-1])


def _copy_without_the_reference_service(copy: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in sorted(set(listed.split("\0")) - {""}):
        source, path = ROOT / name, Path(name)
        if _of_the_reference_service(path) or not (source.exists() or source.is_symlink()):
            continue  # deleted, or deleted in the working tree but not yet in the index
        target = copy / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    (copy / "app" / "shop").mkdir()
    (copy / "app" / "shop" / "__init__.py").write_text(_TRIPWIRE)


def without_the_reference_service(pyproject: str) -> str:
    """``pyproject.toml`` after the deletion: no ``shop`` entry point, import contracts or root package."""
    kept: list[str] = []
    for section in re.split(r"(?m)^(?=\[)", pyproject):
        header = section.partition("\n")[0].strip()
        if header == "[[tool.importlinter.contracts]]" and _NAMES_SHOP.search(section):
            continue
        if header == '[project.entry-points."apibase.services"]':
            kept.append(re.sub(r"(?m)^shop\s*=.*\n", "", section))
        elif header == "[tool.importlinter]":
            kept.append(re.sub(r"""(?m)^(root_packages\s*=.*?)(,\s*"shop"|"shop",\s*)""", r"\1", section))
        else:
            kept.append(section)
    return "".join(kept)


def _install_metadata(project: Mapping[str, Any], site: Path) -> None:
    """The ``.dist-info`` an install of the copy would write, reduced to what ``importlib.metadata`` reads."""
    name, version = str(project["name"]), str(project["version"])
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    lines = [
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items()) + "\n"
        for group, points in groups.items()
        if points
    ]
    (info / "entry_points.txt").write_text("".join(lines))


def _environment(copy: Path, site: Path) -> dict[str, str]:
    """This process's environment, without what would reach back into the real tree (caches, coverage, pytest)."""
    foreign = ("COV_CORE_", "COVERAGE_", "PYTEST_", "MYPY_", "RUFF_", "APIBASE_", "PYTHONPATH")
    env = {key: value for key, value in os.environ.items() if not key.startswith(foreign)}
    env["PYTHONPATH"] = os.pathsep.join([str(copy / "app"), str(copy / "operator"), str(site)])
    return env


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], Path]]]:
    """Every step started at once in a fresh copy; each test waits for its own. Stopped by PID on the way out."""
    base = tmp_path_factory.mktemp("standalone")
    copy, site, logs = base / "repository", base / "site", base / "logs"
    logs.mkdir()
    _copy_without_the_reference_service(copy)
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(without_the_reference_service(pyproject.read_text()))
    config = tomllib.loads(pyproject.read_text())
    _install_metadata(config["project"], site)
    env = _environment(copy, site)
    started: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    with ExitStack() as logs_open:
        try:
            for name, command in STEPS.items():
                log = logs / f"{name.replace(' ', '-')}.log"
                output = logs_open.enter_context(log.open("wb"))
                process = subprocess.Popen(command, cwd=copy, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
                started[name] = (process, log)
            yield started
        finally:
            for process, _ in started.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()


def test_the_copy_names_the_reference_service_nowhere_the_tools_look() -> None:
    config = tomllib.loads(without_the_reference_service((ROOT / "pyproject.toml").read_text()))
    importlinter = config["tool"]["importlinter"]
    assert importlinter["root_packages"] == ["apibase"]
    assert not [contract for contract in importlinter["contracts"] if _NAMES_SHOP.search(repr(contract))]
    assert not config["project"]["entry-points"].get("apibase.services")
    assert "shop" not in repr(config["tool"]["mypy"])
    assert _of_the_reference_service(Path("tests/unit/shop/catalog/test_x.py"))
    assert not _of_the_reference_service(Path("tests/unit/apibase/test_shop.py"))


@pytest.mark.parametrize("step", list(STEPS))
def test_the_kernel_passes_without_the_reference_service(
    runs: dict[str, tuple[subprocess.Popen[bytes], Path]], step: str
) -> None:
    process, log = runs[step]
    try:
        code = process.wait(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"{step} did not finish in {TIMEOUT_SECONDS}s:\n{log.read_text(errors='replace')[-4000:]}")
    assert code == 0, f"{step} failed without the reference service:\n{log.read_text(errors='replace')[-6000:]}"
