"""Multiprocess metrics with a real ``uvicorn --workers 2``: whichever worker answers a scrape reports all of them.

The server runs ``metrics_workers_app.py`` (next to this file) with ``PROMETHEUS_MULTIPROC_DIR`` set; requests
go over fresh connections so both workers serve some, and the merged counter must equal what was sent.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from apibase.infrastructure.observability.metrics import prepare_multiprocess_dir

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[4]
HERE = Path(__file__).parent
WORKERS = 2
POOL_SIZE = 3  # metrics_workers_app.POOL_SIZE
BATCH = 20


@dataclass(frozen=True)
class Server:
    url: str
    metrics_dir: Path
    process: subprocess.Popen[bytes]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/metrics", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"uvicorn did not answer in time:\n{log.read_text()}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``python -m uvicorn --factory --workers 2`` on a free port, stopped by its own PID."""
    metrics_dir = prepare_multiprocess_dir(tmp_path / "prometheus")
    port = _free_port()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TEST_DATABASE": str(tmp_path / "pool.db"),
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "--app-dir",
        str(HERE),
        "metrics_workers_app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
    ]
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield Server(url, metrics_dir, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _send_until_both_workers_answered(url: str) -> tuple[int, set[int]]:
    """Concurrent requests on fresh connections, a batch at a time, until every worker has served some."""
    sent, pids = 0, set[int]()
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        for _ in range(25):
            responses = await asyncio.gather(*(client.get("/ping") for _ in range(BATCH)))
            assert all(response.status_code == 200 for response in responses)
            sent += len(responses)
            pids |= {response.json()["pid"] for response in responses}
            if len(pids) == WORKERS:
                break
    return sent, pids


def _scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    body = httpx.get(f"{url}/metrics", timeout=5).text
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _pinged(scraped: dict[str, dict[tuple[tuple[str, str], ...], float]]) -> float:
    key = (("method", "GET"), ("route", "/ping"), ("status", "200"))
    return scraped.get("http_requests_total", {}).get(key, 0.0)


def test_a_scrape_merges_the_requests_of_every_worker(server: Server) -> None:
    sent, pids = asyncio.run(_send_until_both_workers_answered(server.url))
    assert len(pids) == WORKERS, f"all {sent} requests went to one worker"

    # A worker records a request just after its last byte is sent: allow it a moment, never more than was sent.
    deadline = time.monotonic() + 5
    while (counted := _pinged(_scrape(server.url))) < sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert counted == sent

    for _ in range(4):  # whichever worker answers, the same merged view
        scraped = _scrape(server.url)
        assert _pinged(scraped) == sent
        assert scraped["http_request_duration_seconds_count"][(("method", "GET"), ("route", "/ping"))] == sent
        assert scraped["db_pool_size"][(("pool", "default"),)] == POOL_SIZE * WORKERS
        assert scraped["http_requests_in_flight"][()] == 0

    assert {f"counter_{pid}.db" for pid in pids} <= {path.name for path in server.metrics_dir.iterdir()}


def test_stopped_workers_drop_their_live_gauges_but_keep_their_counts(server: Server) -> None:
    response = httpx.get(f"{server.url}/ping", timeout=5)
    pid = response.json()["pid"]

    server.process.terminate()
    server.process.wait(timeout=15)

    names = {path.name for path in server.metrics_dir.iterdir()}
    assert f"counter_{pid}.db" in names
    assert not [name for name in names if name.startswith("gauge_livesum_")]
