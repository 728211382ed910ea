"""HTTP/2 and HTTP/3 with real clients against ``apibase serve --server granian|hypercorn`` over TLS.

One server process per server for the module (certificates from a throwaway CA, trustme), stopped by its PID:
``httpx`` negotiates HTTP/2 by ALPN and gets the answers HTTP/1.1 gets; hypercorn also listens for QUIC on a UDP
port, advertises it with ``Alt-Svc`` on its HTTP/1.1 and HTTP/2 answers, and aioquic's client gets the same answer
over HTTP/3. Cleartext HTTP/2 (h2c) is checked in test_graceful_shutdown.py, on the servers it starts without TLS.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme
from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent

from apibase.testing.processes import free_port, stop_process

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[5]
HERE = Path(__file__).parent
#: what must not differ between HTTP versions, for answers from the app, its health checks and its problems
PATHS = ["/health/live", "/api/v1/suppliers", "/no/such/path"]
COMPARED_HEADERS = ("content-type", "content-length", "cache-control", "x-content-type-options")


@dataclass(frozen=True)
class Served:
    kind: str
    base: str
    ca: Path
    http3_port: int | None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(str(directory / "server.pem"))
    server.private_key_pem.write_to_path(str(directory / "server.key"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    return {"cert": directory / "server.pem", "key": directory / "server.key", "ca": directory / "ca.pem"}


@pytest.fixture(scope="module", params=["granian", "hypercorn"])
def served(
    request: pytest.FixtureRequest, pki: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """``apibase serve --server <param>`` with TLS on SQLite (the kernel's sample service, as the shutdown tests)."""
    kind: str = request.param
    workdir = tmp_path_factory.mktemp(kind)
    port, http3_port = free_port(), (_free_udp_port() if kind == "hypercorn" else None)
    env = {
        **os.environ,
        "APIBASE_SERVICE": "supplier_service:SERVICE",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        "APIBASE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'versions.db'}",
        "APIBASE_WORKERS": "1",
        "APIBASE_TLS__CERT_FILE": str(pki["cert"]),
        "APIBASE_TLS__KEY_FILE": str(pki["key"]),
        **({"APIBASE_HTTP3_PORT": str(http3_port)} if http3_port else {}),
    }
    command = [str(Path(sys.executable).with_name("apibase")), "serve", "--server", kind, "--port", str(port)]
    log = workdir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    base = f"https://127.0.0.1:{port}"
    try:
        _wait_until_ready(base, pki["ca"], process, log)
        yield Served(kind, base, pki["ca"], http3_port)
    finally:
        stop_process(process)
    assert process.returncode == 0, log.read_text()[-3000:]


def _wait_until_ready(base: str, ca: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120  # a loaded CI machine imports the service slowly
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=1) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the server exited: {log.read_text()[-3000:]}")
            try:
                if client.get(f"{base}/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    pytest.fail("the server did not become ready")


def _answers(served: Served, *, http2: bool) -> dict[str, tuple[str, Answer]]:
    verify = ssl.create_default_context(cafile=str(served.ca))
    with httpx.Client(base_url=served.base, verify=verify, http1=not http2, http2=http2, timeout=10) as client:
        responses = {path: client.get(path) for path in PATHS}
    return {
        path: (response.http_version, Answer(response.status_code, dict(response.headers), response.content))
        for path, response in responses.items()
    }


def _comparable(answer: Answer) -> tuple[int, dict[str, str | None], object]:
    """The status, the headers that describe the content, and the content (but a problem's request id)."""
    content = json.loads(answer.body)
    if isinstance(content, dict):
        content.pop("request_id", None)
    return answer.status, {name: answer.headers.get(name) for name in COMPARED_HEADERS}, content


def test_http_2_is_negotiated_over_tls_and_answers_as_http_1_1_does(served: Served) -> None:
    over_1, over_2 = _answers(served, http2=False), _answers(served, http2=True)
    assert {version for version, _ in over_1.values()} == {"HTTP/1.1"}
    assert {version for version, _ in over_2.values()} == {"HTTP/2"}
    assert {path: _comparable(answer) for path, (_, answer) in over_2.items()} == {
        path: _comparable(answer) for path, (_, answer) in over_1.items()
    }
    assert [over_1[path][1].status for path in PATHS] == [200, 401, 404]
    if served.http3_port is None:
        assert all("alt-svc" not in answer.headers for _, answer in (*over_1.values(), *over_2.values()))


@pytest.mark.parametrize("served", ["hypercorn"], indirect=True)
def test_hypercorn_advertises_http_3_on_its_udp_port(served: Served) -> None:
    assert served.http3_port is not None
    for http2 in (False, True):
        for _, answer in _answers(served, http2=http2).values():
            assert answer.headers["alt-svc"] == f'h3=":{served.http3_port}"; ma=3600'


class H3Client(QuicConnectionProtocol):
    """aioquic's QUIC connection speaking HTTP/3: one GET at a time, its answer whole."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._http = H3Connection(self._quic)
        self._answers: dict[int, asyncio.Future[Answer]] = {}
        self._headers: dict[int, dict[str, str]] = {}
        self._bodies: dict[int, bytearray] = {}

    async def get(self, authority: str, path: str) -> Answer:
        stream_id = self._quic.get_next_available_stream_id()
        headers = [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", authority.encode())]
        self._http.send_headers(stream_id, [*headers, (b":path", path.encode())], end_stream=True)
        self._answers[stream_id] = asyncio.get_running_loop().create_future()
        self.transmit()
        return await asyncio.wait_for(self._answers[stream_id], timeout=10)

    def quic_event_received(self, event: QuicEvent) -> None:
        for http_event in self._http.handle_event(event):
            self._received(http_event)

    def _received(self, event: H3Event) -> None:
        if isinstance(event, HeadersReceived):
            self._headers[event.stream_id] = {name.decode(): value.decode() for name, value in event.headers}
        elif isinstance(event, DataReceived):
            self._bodies.setdefault(event.stream_id, bytearray()).extend(event.data)
        if isinstance(event, HeadersReceived | DataReceived) and event.stream_ended:
            headers = self._headers.pop(event.stream_id)
            body = bytes(self._bodies.pop(event.stream_id, b""))
            self._answers.pop(event.stream_id).set_result(Answer(int(headers[":status"]), headers, body))


async def _over_http_3(served: Served, port: int, path: str) -> Answer:
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name="localhost")
    configuration.load_verify_locations(str(served.ca))
    async with connect("127.0.0.1", port, configuration=configuration, create_protocol=H3Client) as client:
        assert isinstance(client, H3Client)
        return await client.get(f"localhost:{port}", path)


@pytest.mark.parametrize("served", ["hypercorn"], indirect=True)
async def test_aioquic_gets_the_same_answer_over_http_3(served: Served) -> None:
    assert served.http3_port is not None
    (_, over_2) = _answers(served, http2=True)["/health/live"]
    over_3 = await _over_http_3(served, served.http3_port, "/health/live")
    assert _comparable(over_3) == _comparable(over_2)
