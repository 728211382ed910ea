"""Stop signals to a real ``apibase serve``: readiness off at once, nothing in flight fails, always exit 0 in time.

The server runs a small service of the kernel's own (``supplier_service.py``: the sample ``suppliers`` resource
and a raw-body upload). The load test's generator behaves like a load balancer that honours readiness: 20 clients
create and list suppliers until the health poller has seen ``/health/ready`` answer 503 and a propagation lag has
passed (well inside the server's drain delay). One slow upload is still sending its body when the server closes its
listening socket, so it proves that in-flight requests are drained, not cut off. Requests after the close are
refused, as they should be, and do not count as failures.

The other tests send signals in bursts (as fast as ``os.kill`` goes; the kernel may merge some) during start-up,
idle, under load and to the ``--workers`` supervisor, in a storm until the process is gone, and one at a time
through the three stages: however many arrive, the process exits 0 within the drain delay plus a bound. A burst
once deadlocked the signal handler (it took a lock it already held).

The load test and the ``--workers`` test run under each server (``--server uvicorn|granian|hypercorn``); the
latter also checks that a scrape merges every worker's metrics (``PROMETHEUS_MULTIPROC_DIR``), over cleartext
HTTP/2 (h2c) where the server speaks it, and that each worker's teardown dropped its live gauges.
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
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from prometheus_client.parser import text_string_to_metric_families

from apibase.testing.suppliers import sample_metadata

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
CLIENTS = 20
DRAIN_DELAY = 2.0  # the server keeps serving this long after SIGTERM, with readiness 503
PROPAGATION = 0.5  # the "load balancer" stops routing this long after it saw readiness 503
GRACE = 5
#: how long a loaded CI machine may take to import the service and migrate its database
START_UP_BOUND = 120.0
#: after the drain delay: the grace for in-flight requests and the application's shutdown, on a loaded machine
EXIT_BOUND = GRACE + 5.0
BURST = 20
SERVERS = ["uvicorn", "granian", "hypercorn"]
#: the servers that speak cleartext HTTP/2 (h2c, prior knowledge)
H2C = {"granian", "hypercorn"}
UPLOAD_SECONDS = 3.5  # the slow upload is still sending when the listener closes (after DRAIN_DELAY)


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


@contextmanager
def _launched(
    tmp_path: Path,
    *options: str,
    drain_delay: float = DRAIN_DELAY,
    grace: int = GRACE,
    server: str = "uvicorn",
    environment: dict[str, str] | None = None,
) -> Iterator[Server]:
    """``apibase serve`` (one worker unless told) on SQLite in a temp dir; the test stops it, this only cleans up."""
    port = _free_port()
    database = tmp_path / "shutdown.db"
    tables = sqlalchemy.create_engine(f"sqlite:///{database}")
    sample_metadata.create_all(tables)
    tables.dispose()
    env = {
        **os.environ,
        "APIBASE_SERVICE": "supplier_service:SERVICE",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        "APIBASE_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "APIBASE_UPLOADS_DIR": str(tmp_path / "uploads"),
        "APIBASE_WORKERS": "1",
        "APIBASE_SHUTDOWN_GRACE_SECONDS": str(grace),
        "APIBASE_AUTH__PASSWORD_TIME_COST": "1",
        "APIBASE_AUTH__PASSWORD_MEMORY_KIB": "1024",
        "APIBASE_RATE_LIMIT__CLIENT_LIMIT": "1000000/minute",
        "APIBASE_RATE_LIMIT__LOGIN_LIMIT": "1000000/minute",
        "APIBASE_RATE_LIMIT__USER_LIMIT": "1000000/minute",
        "APIBASE_SERVER": server,
        **(environment or {}),
    }
    command = [
        str(Path(sys.executable).with_name("apibase")),
        *("serve", "--port", str(port), "--drain-delay", str(drain_delay), *options),
    ]
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - a fixed command
            command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield Server(process, f"http://127.0.0.1:{port}", log_path)
        finally:
            with suppress(ProcessLookupError):  # workers too, should their supervisor have left them behind
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + START_UP_BOUND
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited: {server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.base}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"the service did not become ready in {START_UP_BOUND}s")


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    """One worker of ``request.param``'s server (uvicorn unless a test is parametrized with another)."""
    with _launched(tmp_path, server=getattr(request, "param", "uvicorn")) as launched:
        _wait_until_ready(launched)
        yield launched


def _sign_in(base: str) -> dict[str, str]:
    credentials = {"email": "drain@example.com", "password": "draining-password-123"}
    headers = {"X-Tenant-ID": "default"}
    httpx.post(f"{base}/api/v1/auth/register", json=credentials, headers=headers, timeout=10).raise_for_status()
    login = httpx.post(f"{base}/api/v1/auth/login", json=credentials, headers=headers, timeout=10)
    login.raise_for_status()
    return {**headers, "Authorization": f"Bearer {login.json()['data']['access_token']}"}


def _supplier(name: str) -> dict[str, object]:
    return {"name": name, "country": "DE"}


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
                outcome = await _call(http, "POST", "/api/v1/suppliers", json=_supplier(f"Load {number}-{request}"))
            else:
                outcome = await _call(http, "GET", "/api/v1/suppliers", params={"limit": 5})
            outcomes.append(outcome)
            if outcome.result == "ConnectError":
                break  # refused: the server is gone, as a real client would find out
    return outcomes


async def _slow_upload(base: str, headers: dict[str, str], seconds: float = UPLOAD_SECONDS) -> Outcome:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(30):
            await asyncio.sleep(seconds / 30)
            yield bytes(64)

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=seconds + 15) as http:
        return await _call(
            http, "PUT", "/api/v1/uploads", content=body(), headers={"Content-Type": "application/octet-stream"}
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


@pytest.mark.parametrize("server", SERVERS, indirect=True)
async def test_sigterm_under_load_fails_no_request(server: Server) -> None:
    headers = _sign_in(server.base)
    stop_routing = asyncio.Event()
    clients = [asyncio.create_task(_client(server.base, headers, n, stop_routing)) for n in range(CLIENTS)]
    upload = asyncio.create_task(_slow_upload(server.base, headers))
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
    # never ready again; a probe that connects just as the listener closes may see the connection dropped or reset
    assert {probe.result for probe in probes if probe.started > first_503} <= {
        503,
        "RemoteProtocolError",
        "ReadError",
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


def _burst(server: Server, *signals: signal.Signals) -> float:
    """Send the signals as fast as possible, ``BURST`` times over; returns when the first one left."""
    sent = time.monotonic()
    for _ in range(BURST):
        for sig in signals:
            os.kill(server.process.pid, sig)
    return sent


def _exits_0_within(server: Server, sent: float, seconds: float) -> None:
    try:
        code = server.process.wait(timeout=max(sent + seconds - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {seconds}s after the signal: {server.log.read_text()[-3000:]}")
    assert code == 0, server.log.read_text()[-3000:]


def _handles(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has a handler of its own for the signal (Linux: the caught-signals mask)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return bool(caught >> (sig - 1) & 1)


def _listens(server: Server) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(server.base.rsplit(":", 1)[1])), timeout=1):
            return True
    except OSError:
        return False


async def _until(base: str, path: str, result: int | str, *, within: float) -> None:
    """Poll ``path`` on fresh connections until it gives ``result``."""
    deadline = time.monotonic() + within
    while (await _fresh(base, path)).result != result:
        assert time.monotonic() < deadline, f"{path} did not give {result} within {within}s"
        await asyncio.sleep(0.05)


def test_a_burst_of_sigterms_stops_an_idle_server_in_time(server: Server) -> None:
    sent = _burst(server, signal.SIGTERM)
    _exits_0_within(server, sent, DRAIN_DELAY + EXIT_BOUND)


def test_a_storm_of_sigterms_until_it_exits_stops_it_in_time(server: Server) -> None:
    """Signals through every stage, the teardown included, until the process is gone."""
    sent = time.monotonic()
    while server.process.poll() is None and time.monotonic() < sent + DRAIN_DELAY + EXIT_BOUND:
        os.kill(server.process.pid, signal.SIGTERM)  # not reaped yet: still our process, or a zombie
        time.sleep(0.001)
    _exits_0_within(server, sent, DRAIN_DELAY + EXIT_BOUND)


async def test_a_burst_of_mixed_signals_stops_a_loaded_server_in_time(server: Server) -> None:
    headers = _sign_in(server.base)
    never = asyncio.Event()
    clients = [asyncio.create_task(_client(server.base, headers, n, never)) for n in range(CLIENTS)]
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=10) as http:
        for _ in range(CLIENTS):  # the clients' requests are in flight meanwhile
            assert (await http.get("/api/v1/suppliers", params={"limit": 5})).status_code == 200
    sent = _burst(server, signal.SIGTERM, signal.SIGINT)
    _exits_0_within(server, sent, DRAIN_DELAY + EXIT_BOUND)
    load = [outcome for outcomes in await asyncio.gather(*clients) for outcome in outcomes]
    assert any(o.started < sent < o.ended for o in load), "no request was in flight when the burst began"


def test_signals_during_start_up_stop_it_in_time(tmp_path: Path) -> None:
    with _launched(tmp_path) as server:
        deadline = time.monotonic() + START_UP_BOUND
        while not _handles(server.process.pid, signal.SIGTERM):  # from here on every signal ends in exit 0
            assert server.process.poll() is None, server.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "apibase serve never took SIGTERM over"
            time.sleep(0.01)
        assert not _listens(server)  # still starting: the application is not even imported yet
        sent = _burst(server, signal.SIGTERM)
        # start-up is not cut short (migrations run to their end), then the usual stop
        _exits_0_within(server, sent, START_UP_BOUND + DRAIN_DELAY + EXIT_BOUND)


@contextmanager
def _held_at_import(gate: Path) -> Iterator[None]:
    """Until the context ends, the service's workers stay where importing it starts (``SUPPLIER_SERVICE_GATE``)."""
    os.mkfifo(gate)
    deadline = time.monotonic() + START_UP_BOUND
    while True:  # a writer can open the FIFO only once a reader has: a worker is importing the service
        try:
            writer = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            assert time.monotonic() < deadline, "no worker began to import the service"
            time.sleep(0.01)
    try:
        yield
    finally:
        os.close(writer)


def test_granian_workers_still_starting_end_at_once_on_a_burst(tmp_path: Path) -> None:
    """They have served nothing. Each inherited its supervisor's handler, which once only set the supervisor's
    flag (in the worker's copy): the worker lost its SIGTERM and served until the supervisor killed it.

    (uvicorn's workers take the signal over before they import the service and stop once started; hypercorn's
    raise ``SystemExit`` there too, but a spawned worker's interpreter then takes seconds to finalize on a loaded
    machine.)
    """
    gate = tmp_path / "gate"
    environment = {"SUPPLIER_SERVICE_GATE": str(gate)}
    with (
        _launched(tmp_path, "--workers", "2", server="granian", environment=environment) as server,
        _held_at_import(gate),
    ):
        sent = _burst(server, signal.SIGTERM)
        _exits_0_within(server, sent, EXIT_BOUND)  # the supervisor kills a worker only after drain + grace + 5s
    assert "SIGTERM received" not in server.log.read_text()  # no worker ever served
    assert "refused to gracefully stop" not in server.log.read_text()


async def test_each_signal_moves_the_shutdown_one_stage_on(tmp_path: Path) -> None:
    long = 60  # the drain delay and the grace: the second and the third signal must end them long before
    with _launched(tmp_path, drain_delay=long, grace=long) as server:
        _wait_until_ready(server)
        headers = _sign_in(server.base)
        upload = asyncio.create_task(_slow_upload(server.base, headers, seconds=long))

        os.kill(server.process.pid, signal.SIGTERM)
        await _until(server.base, "/health/ready", 503, within=1.0)  # 1: readiness off, still serving
        os.kill(server.process.pid, signal.SIGTERM)
        await _until(server.base, "/health/live", "ConnectError", within=EXIT_BOUND)  # 2: no more delay
        assert not upload.done()  # being drained
        forced = time.monotonic()
        os.kill(server.process.pid, signal.SIGTERM)  # 3: stop waiting for the upload
        _exits_0_within(server, forced, EXIT_BOUND)  # long before the grace for in-flight requests ends
        assert isinstance((await upload).result, str)  # cut off, not answered
    log = server.log.read_text()
    for stage in ("readiness is off", "draining now", "no longer waiting for in-flight requests"):
        assert stage in log


def _counted(scraped: str) -> int:
    key = {"method": "GET", "route": "/health/live", "status": "200"}
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(scraped)
            for sample in family.samples
            if sample.name == "http_requests_total" and sample.labels == key
        )
    )


async def _merged_count(base: str, *, http2: bool) -> tuple[int, int]:
    """Requests on fresh connections (so that every worker serves some), then what scrapes counted of them."""
    sent = 40
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, http1=not http2, http2=http2, timeout=10) as http:
        answers = await asyncio.gather(*(http.get("/health/live") for _ in range(sent)))
        assert {(answer.status_code, answer.http_version) for answer in answers} == {
            (200, "HTTP/2" if http2 else "HTTP/1.1")
        }
        # a worker records a request just after its last byte is sent: allow it a moment
        deadline = time.monotonic() + 5
        while (counted := _counted((await http.get("/metrics")).text)) < sent and time.monotonic() < deadline:  # noqa: ASYNC110 - polling another process: no event to await
            await asyncio.sleep(0.05)
    return sent, counted


@pytest.mark.parametrize("kind", SERVERS)
async def test_several_workers_merge_their_metrics_and_stop_on_a_burst_in_time(tmp_path: Path, kind: str) -> None:
    metrics = tmp_path / "prometheus"
    environment = {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    with _launched(tmp_path, "--workers", "2", server=kind, environment=environment) as server:
        _wait_until_ready(server)  # one worker serves; on a loaded machine the other may still be starting
        sent, counted = await _merged_count(server.base, http2=kind in H2C)
        assert counted == sent  # whichever worker answered the scrape, it counted every worker's requests
        signalled = _burst(server, signal.SIGTERM)
        _exits_0_within(server, signalled, DRAIN_DELAY + EXIT_BOUND)
    # the supervisor sends each worker one SIGTERM: each serving worker goes through the drain delay once
    assert 1 <= server.log.read_text().count("SIGTERM received: readiness is off") <= 2
    # each worker's teardown ran: its live gauges left the merged view, its counts stay
    files = {path.name for path in metrics.iterdir()}
    assert [name for name in files if name.startswith("counter_")]
    assert not [name for name in files if name.startswith("gauge_livesum_")]
