"""Schemathesis drives a real server process through both OpenAPI documents: no 5xx, no schema violations.

It runs the schemathesis CLI with the project's ``schemathesis.toml`` and every default check (server errors,
status codes, content types, response schemas, headers, positive and negative data, stateful links). The seed is
fixed so CI is repeatable; run ``schemathesis run http://127.0.0.1:8000/api/v1/openapi.json`` to explore more.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Protocol

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
SEED = "20261126"


class ReferenceServer(Protocol):
    """The ``reference_server`` fixture's value (tests/integration/shop/conftest.py)."""

    base: str
    token: str


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_schemathesis_finds_nothing(reference_server: ReferenceServer, version: str) -> None:
    base, token = reference_server.base, reference_server.token
    cli = Path(sys.executable).with_name("schemathesis")
    command = [
        str(cli),
        "run",
        f"{base}/api/{version}/openapi.json",
        "--max-examples",
        "30",
        "--seed",
        SEED,
        "--header",
        f"Authorization: Bearer {token}",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    assert result.returncode == 0, result.stdout[-6000:]
