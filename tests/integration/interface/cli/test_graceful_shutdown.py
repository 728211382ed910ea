"""SIGTERM to a real ``apibase serve`` under load: readiness off at once, nothing in flight fails, exit 0.

The load generator behaves like a load balancer that honours readiness: 20 clients create and list products
until the health poller has seen ``/health/ready`` answer 503 and a propagation lag has passed (well inside the
server's drain delay). One slow upload is still sending its body when the server closes its listening socket,
so it proves that in-flight requests are drained, not cut off. Requests after the close are refused, as they
should be, and do not count as failures.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[4]
CLIENTS = 20
DRAIN_DELAY = 2.0  # the server keeps serving this long after SIGTERM, with readiness 503
PROPAGATION = 0.5  # the "load balancer" stops routing this long after it saw readiness 503
GRACE = 5
UPLOAD_SECONDS = 3.5  # the slow upload is still sending when the listener closes (after DRAIN_DELAY)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@dataclass(frozen=True, slots=True)
class Outcome:
    started: float
    ended: float
    result: int | str  # the status code, or the transport error's type name


@dataclass(frozen=True, slots=True)
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``apibase serve`` (one worker) on SQLite in a temp dir; the test stops it, the fixture only cleans up."""
    port = _free_port()
    env = {
        **os.environ,
        "APIBASE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shutdown.db'}",
        "APIBASE_UPLOADS_DIR": str(tmp_path / "uploads"),
        "APIBASE_WORKERS": "1",
        "APIBASE_SHUTDOWN_GRACE_SECONDS": str(GRACE),
        "APIBASE_AUTH__PASSWORD_TIME_COST": "1",
        "APIBASE_AUTH__PASSWORD_MEMORY_KIB": "1024",
        "APIBASE_RATE_LIMIT__CLIENT_LIMIT": "1000000/minute",
        "APIBASE_RATE_LIMIT__LOGIN_LIMIT": "1000000/minute",
        "APIBASE_RATE_LIMIT__USER_LIMIT": "1000000/minute",
    }
    command = [
        str(Path(sys.executable).with_name("apibase")),
        *("serve", "--port", str(port), "--drain-delay", str(DRAIN_DELAY)),
    ]
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                if process.poll() is not None:
                    pytest.fail(f"the server exited: {log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
            else:
                pytest.fail("the service did not become ready")
            yield Server(process, base, log_path)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def _sign_in(base: str) -> dict[str, str]:
    credentials = {"email": "drain@example.com", "password": "draining-password-123"}
    headers = {"X-Tenant-ID": "default"}
    httpx.post(f"{base}/api/v2/auth/register", json=credentials, headers=headers, timeout=10).raise_for_status()
    login = httpx.post(f"{base}/api/v2/auth/login", json=credentials, headers=headers, timeout=10)
    login.raise_for_status()
    return {**headers, "Authorization": f"Bearer {login.json()['data']['access_token']}"}


def _product(sku: str) -> dict[str, object]:
    return {"sku": sku, "name": "Gear", "price": {"amount": "9.99", "currency": "EUR"}, "stock": 25, "active": True}


async def _call(http: httpx.AsyncClient, method: str, url: str, **options: object) -> Outcome:
    started = time.monotonic()
    try:
        response = await http.request(method, url, **options)  # type: ignore[arg-type]
    except httpx.TransportError as exc:
        return Outcome(started, time.monotonic(), type(exc).__name__)
    return Outcome(started, time.monotonic(), response.status_code)


async def _client(base: str, headers: dict[str, str], number: int, stop: asyncio.Event) -> list[Outcome]:
    outcomes: list[Outcome] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
        request = 0
        while not stop.is_set():
            request += 1
            if request % 2:
                outcome = await _call(http, "POST", "/api/v2/products", json=_product(f"LOAD-{number}-{request}"))
            else:
                outcome = await _call(http, "GET", "/api/v2/products", params={"limit": 5})
            outcomes.append(outcome)
            if outcome.result == "ConnectError":
                break  # refused: the server is gone, as a real client would find out
    return outcomes


async def _slow_upload(base: str, headers: dict[str, str], product_id: str) -> Outcome:
    async def body() -> AsyncIterator[bytes]:
        yield PNG
        for _ in range(30):
            await asyncio.sleep(UPLOAD_SECONDS / 30)
            yield bytes(64)

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=15) as http:
        return await _call(
            http,
            "PUT",
            f"/api/v2/products/{product_id}/image",
            content=body(),
            headers={"Content-Type": "image/png"},
        )


async def _fresh(base: str, path: str) -> Outcome:
    """One request on a new connection, as a kubelet probe or a new client would send it."""
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        return await _call(http, "GET", path)


async def _readiness(base: str, saw_503: asyncio.Event) -> list[Outcome]:
    """Poll ``/health/ready`` as a kubelet does, until the listener is gone; flag the first 503."""
    probes: list[Outcome] = []
    while not probes or probes[-1].result != "ConnectError":
        probes.append(await _fresh(base, "/health/ready"))
        if probes[-1].result == 503:
            saw_503.set()
        await asyncio.sleep(0.05)
    return probes


async def test_sigterm_under_load_fails_no_request(server: Server) -> None:
    headers = _sign_in(server.base)
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=10) as http:
        created = await http.post("/api/v2/products", json=_product("SLOW-1"))
    assert created.status_code == 201, created.text
    stop_routing = asyncio.Event()
    clients = [asyncio.create_task(_client(server.base, headers, n, stop_routing)) for n in range(CLIENTS)]
    upload = asyncio.create_task(_slow_upload(server.base, headers, created.json()["data"]["id"]))
    await asyncio.sleep(1.0)

    os.kill(server.process.pid, signal.SIGTERM)
    signalled = time.monotonic()
    saw_503 = asyncio.Event()
    poller = asyncio.create_task(_readiness(server.base, saw_503))
    await asyncio.wait_for(saw_503.wait(), timeout=1.0)  # readiness is off at once
    await asyncio.sleep(PROPAGATION)  # then the load balancer stops routing, well inside the drain delay
    stop_routing.set()
    load = [outcome for outcomes in await asyncio.gather(*clients) for outcome in outcomes]
    probes = await poller
    slow = await upload
    assert server.process.wait(timeout=GRACE + 2) == 0

    failures = [o for o in load if not (isinstance(o.result, int) and 200 <= o.result < 300)]
    assert failures == [], failures
    assert any(o.started < signalled < o.ended for o in load), "no request was in flight when SIGTERM arrived"
    first_503 = next(probe.started for probe in probes if probe.result == 503)
    assert any(o.started > first_503 for o in load), "nothing was served while readiness said 503"
    # never ready again; a probe that connects just as the listener closes may see the connection dropped
    assert {probe.result for probe in probes if probe.started > first_503} <= {
        503,
        "RemoteProtocolError",
        "ConnectError",
    }
    last_answered = max(probe.started for probe in probes if probe.result == 503)
    assert last_answered > signalled + DRAIN_DELAY - 0.2  # the listener stayed open for the drain delay
    refused = probes[-1]
    assert slow.result == 200, slow
    assert slow.started < signalled  # in flight at the signal, across the close, and still answered
    assert slow.ended > refused.ended
    log = server.log.read_text()
    assert "timeout graceful shutdown exceeded" not in log
    assert "SIGTERM received: readiness is off" in log
