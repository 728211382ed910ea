"""granian's and hypercorn's adapters: what each server is told (real processes: tests/integration/.../cli/)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import ssl
from pathlib import Path

import pytest
import trustme
import uvloop
from granian import _signals
from granian.constants import HTTPModes, Interfaces
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from apibase.core.settings import TlsSettings
from apibase.interface.cli.servers import ServerOptions, service_app
from apibase.interface.cli.servers import granian as granian_adapter
from apibase.interface.cli.servers.granian import granian_server, load_worker_app, staged_worker_signal
from apibase.interface.cli.servers.heap import FrozenStartupHeap
from apibase.interface.cli.servers.hypercorn import _wake_quic, hypercorn_config
from apibase.interface.http.health import SHUTTING_DOWN

pytestmark = pytest.mark.unit

MUTUAL_TLS = TlsSettings(
    cert_file=Path("/tls/server.pem"),
    key_file=Path("/tls/server.key"),
    ca_file=Path("/tls/ca.pem"),
    require_client_cert=True,
)


def options(tls: TlsSettings = MUTUAL_TLS, **changes: object) -> ServerOptions:
    values: dict[str, object] = {
        "app": "starlette.applications:Starlette",
        "host": "127.0.0.1",
        "port": 8443,
        "workers": 2,
        "reload": False,
        "drain_delay_seconds": 2.5,
        "grace_seconds": 7,
        "worker_healthcheck_timeout_seconds": 30,
        "tls": tls,
        **changes,
    }
    return ServerOptions(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsSettings:
    """granian reads the files when it is configured."""
    directory = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(directory / "server.pem"))
    server.private_key_pem.write_to_path(str(directory / "server.key"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    return TlsSettings(
        cert_file=directory / "server.pem",
        key_file=directory / "server.key",
        ca_file=directory / "ca.pem",
        require_client_cert=True,
    )


def test_granian_serves_asgi_with_http_2_mutual_tls_and_a_kill_timeout_past_the_drain_and_the_grace(
    pki: TlsSettings,
) -> None:
    server = granian_server(options(pki))
    assert (server.interface, server.http, server.workers, server.factory) == (
        Interfaces.ASGI,
        HTTPModes.auto,
        2,
        False,
    )
    ssl_context: tuple[object, ...] = server.ssl_ctx
    assert ssl_context[0] is True
    assert ssl_context[5:] == (str(pki.ca_file), [], True)
    assert server.workers_kill_timeout == 3 + 7 + 5
    assert granian_server(options(TlsSettings())).ssl_ctx[0] is False


class RecordedSignal:
    """Stands in for granian's ``WorkerSignal``, whose callbacks only its running server calls."""

    def __init__(self) -> None:
        self.sets = 0

    def set(self) -> None:
        self.sets += 1


@pytest.mark.usefixtures("restored_signals")
def test_a_granian_worker_stops_on_a_signal_set_in_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(granian_adapter, "WorkerSignal", RecordedSignal)
    worker_options = options(drain_delay_seconds=0.0)
    app = load_worker_app(worker_options)
    assert isinstance(app, ProxyHeadersMiddleware)
    patched = vars(_signals)["set_loop_signals"]
    assert (patched.func, patched.args) == (staged_worker_signal, (worker_options,))
    loop = uvloop.new_event_loop()
    try:
        stopped = staged_worker_signal(worker_options, loop)
        assert isinstance(stopped, RecordedSignal)
        signal.raise_signal(signal.SIGTERM)
        loop.run_until_complete(asyncio.sleep(0.01))
    finally:
        loop.close()
    assert SHUTTING_DOWN.is_set()
    assert stopped.sets == 1


def test_hypercorn_serves_mutual_tls_with_http_3_on_the_udp_port() -> None:
    config = hypercorn_config(options(http3_port=8444))
    assert (config.bind, config.quic_bind) == (["127.0.0.1:8443"], ["127.0.0.1:8444"])
    assert (config.certfile, config.keyfile, config.ca_certs) == ("/tls/server.pem", "/tls/server.key", "/tls/ca.pem")
    assert config.verify_mode == ssl.CERT_REQUIRED
    assert (config.graceful_timeout, config.workers, config.include_server_header) == (7, 2, False)


def test_hypercorn_in_the_clear_on_ipv6() -> None:
    config = hypercorn_config(options(TlsSettings(), host="::1", http3_port=8444))
    assert (config.bind, config.quic_bind, config.certfile) == (["[::1]:8443"], [], None)


def test_the_served_app_trusts_proxy_headers_from_loopback_or_the_configured_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.1")
    app = service_app("starlette.applications:Starlette", freeze_heap=False)
    assert isinstance(app, ProxyHeadersMiddleware)
    assert app.trusted_hosts.always_trust is False
    assert "10.0.0.1" in app.trusted_hosts


def test_the_served_app_freezes_the_heap_after_startup_when_asked() -> None:
    frozen = service_app("starlette.applications:Starlette", freeze_heap=True)
    plain = service_app("starlette.applications:Starlette", freeze_heap=False)
    assert isinstance(frozen, ProxyHeadersMiddleware)
    assert isinstance(frozen.app, FrozenStartupHeap)
    assert isinstance(plain, ProxyHeadersMiddleware)
    assert not isinstance(plain.app, FrozenStartupHeap)


async def test_an_idle_quic_server_is_woken_by_empty_datagrams_until_the_worker_ends() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quic:
        quic.bind(("127.0.0.1", 0))
        quic.setblocking(False)
        waking = asyncio.create_task(_wake_quic([quic]))
        await asyncio.sleep(0.25)
        waking.cancel()
        received = []
        with contextlib.suppress(BlockingIOError):
            while True:
                received.append(quic.recv(64))
    assert len(received) >= 2  # one at once, then every 0.1 s
    assert set(received) == {b""}
