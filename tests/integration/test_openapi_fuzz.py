"""Schemathesis drives a real server process through both OpenAPI documents: no 5xx, no schema violations.

It runs the schemathesis CLI with the project's ``schemathesis.toml`` and every default check (server errors,
status codes, content types, response schemas, headers, positive and negative data, stateful links). The seed is
fixed so CI is repeatable; run ``schemathesis run http://127.0.0.1:8000/api/v1/openapi.json`` to explore more.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
SEED = "20261126"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The reference service on SQLite in a temp dir, started here and stopped by PID."""
    port = _free_port()
    workdir = tmp_path_factory.mktemp("fuzz")
    env = {
        **os.environ,
        "APIBASE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'fuzz.db'}",
        "APIBASE_UPLOADS_DIR": str(workdir / "uploads"),
        "APIBASE_AUTH__PASSWORD_TIME_COST": "1",
        "APIBASE_AUTH__PASSWORD_MEMORY_KIB": "1024",
        # The fuzzer is one client sending thousands of requests: budgets sized for it, not for production.
        "APIBASE_RATE_LIMIT__CLIENT_LIMIT": "100000/minute",
        "APIBASE_RATE_LIMIT__LOGIN_LIMIT": "100000/minute",
        "APIBASE_RATE_LIMIT__USER_LIMIT": "100000/minute",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--port", str(port)]
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(150):
                try:
                    if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            else:
                pytest.fail("the service did not become ready")
            yield base, _admin_token(base)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _admin_token(base: str) -> str:
    """Sign up the default tenant's admin, so the fuzzer reaches every endpoint past the permission checks."""
    credentials = {"email": "fuzz@example.com", "password": "fuzzing-password-123"}
    httpx.post(f"{base}/api/v2/auth/register", json=credentials, timeout=10).raise_for_status()
    login = httpx.post(f"{base}/api/v2/auth/login", json=credentials, timeout=10)
    login.raise_for_status()
    token: str = login.json()["data"]["access_token"]
    return token


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_schemathesis_finds_nothing(server: tuple[str, str], version: str) -> None:
    base, token = server
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
