"""docs/error-codes.md lists exactly the registered error codes, with the status and classes that use each."""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pytest

import apibase
import shop
from apibase.core.error_codes import registered_error_codes
from apibase.core.errors import AppError

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[3] / "docs" / "error-codes.md"
_CODE_CELL = re.compile(r"^`([a-z0-9_]+(?:\.[a-z0-9_]+)+)`$")
_BACKTICKED = re.compile(r"`([^`]+)`")
PACKAGES = (apibase, shop)
PREFIXES = tuple(f"{package.__name__}." for package in PACKAGES)


@dataclass(frozen=True)
class Row:
    code: str
    status: str
    classes: frozenset[str]


def _documented_rows() -> list[Row]:
    """Table rows whose first cell is a backticked code (the header and separator rows have none)."""
    rows: list[Row] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = _CODE_CELL.match(cells[0])
        if match is None:
            continue
        assert len(cells) == 4, f"expected | code | meaning | status | default of |, got {line!r}"
        rows.append(Row(match.group(1), cells[2], frozenset(_BACKTICKED.findall(cells[3]))))
    return rows


def _app_codes() -> dict[str, StrEnum]:
    """Every code registered by the application's own modules.

    All modules of the kernel and the reference service are imported first, so a code is found wherever it is
    declared; only their interface layers (which wire routers at import time) are left out.
    Enums registered by test modules are not part of the application and are ignored.
    """
    for package in PACKAGES:
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            if ".interface" not in module.name:
                importlib.import_module(module.name)
    return {
        value: member
        for value, member in registered_error_codes().items()
        if type(member).__module__.startswith(PREFIXES)
    }


def _app_error_classes() -> list[type[AppError[StrEnum]]]:
    found: list[type[AppError[StrEnum]]] = []
    pending: list[type[AppError[StrEnum]]] = [AppError]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__.startswith(PREFIXES) and sub not in found:
                found.append(sub)
                pending.append(sub)
    return found


def test_the_table_has_rows() -> None:
    assert len(_documented_rows()) >= 1


def test_every_registered_code_is_documented() -> None:
    documented = {row.code for row in _documented_rows()}
    missing = sorted(set(_app_codes()) - documented)
    assert not missing, f"add these codes to {DOC.name}: {missing}"


def test_every_documented_code_is_registered() -> None:
    registered = set(_app_codes())
    unknown = sorted(row.code for row in _documented_rows() if row.code not in registered)
    assert not unknown, f"{DOC.name} lists codes that are not registered: {unknown}"


def test_each_code_is_documented_once() -> None:
    codes = [row.code for row in _documented_rows()]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    assert not duplicates, f"{DOC.name} lists these codes more than once: {duplicates}"


def test_status_and_classes_agree_with_the_error_classes_that_default_to_each_code() -> None:
    _app_codes()  # import every module first, so every error class exists
    classes = _app_error_classes()
    for row in _documented_rows():
        users = [cls for cls in classes if cls.default_code.value == row.code]
        names = {cls.__name__ for cls in users}
        assert row.classes <= names, f"'Default of' for {row.code} names classes without that default"
        if users:
            assert row.classes, f"'Default of' for {row.code} should name one of {sorted(names)}"
            assert {str(cls.status) for cls in users} == {row.status}, f"HTTP status for {row.code}"
