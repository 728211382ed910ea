"""``apibase serve`` with mutual TLS: a real server process, certificates from a throwaway CA (trustme).

Only a client with a certificate from the configured CA gets an answer; without one, with one from another CA,
or over plain HTTP, the connection fails before any request reaches the application.
"""

from __future__ import annotations

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

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[4]
# TLS 1.3 verifies the client's certificate after the client considers the handshake done, so the refusal can
# surface on the first read (ReadError) or as a dropped connection instead of on connect (ConnectError).
REFUSED = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class Pki:
    server_ca: Path
    client: Path
    stranger: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pki, dict[str, str]]:
    """A CA, a server certificate for 127.0.0.1 and two client certificates: one from the CA, one from another."""
    directory = tmp_path_factory.mktemp("pki")
    ca, other_ca = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(directory / "server.pem"))
    server.private_key_pem.write_to_path(str(directory / "server.key"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    ca.issue_cert("client.example.com").private_key_and_cert_chain_pem.write_to_path(str(directory / "client.pem"))
    stranger = other_ca.issue_cert("stranger.example.com")
    stranger.private_key_and_cert_chain_pem.write_to_path(str(directory / "stranger.pem"))
    env = {
        "APIBASE_TLS__CERT_FILE": str(directory / "server.pem"),
        "APIBASE_TLS__KEY_FILE": str(directory / "server.key"),
        "APIBASE_TLS__CA_FILE": str(directory / "ca.pem"),
        "APIBASE_TLS__REQUIRE_CLIENT_CERT": "true",
    }
    return Pki(directory / "ca.pem", directory / "client.pem", directory / "stranger.pem"), env


def _context(pki: Pki, client_cert: Path | None) -> ssl.SSLContext:
    """Trusts the server's CA and checks its name (127.0.0.1); presents ``client_cert`` when given."""
    context = ssl.create_default_context(cafile=str(pki.server_ca))
    if client_cert is not None:
        context.load_cert_chain(str(client_cert))
    return context


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pki: tuple[Pki, dict[str, str]]) -> Iterator[int]:
    """``apibase serve`` on SQLite in a temp dir, with the TLS settings from the environment; stopped by PID."""
    certificates, tls_env = pki
    port = _free_port()
    workdir = tmp_path_factory.mktemp("mtls")
    env = {
        **os.environ,
        **tls_env,
        "APIBASE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'mtls.db'}",
        "APIBASE_WORKERS": "1",
    }
    command = [str(Path(sys.executable).with_name("apibase")), "serve", "--port", str(port)]
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            with httpx.Client(verify=_context(certificates, certificates.client), timeout=1) as client:
                for _ in range(150):
                    if process.poll() is not None:
                        pytest.fail(f"the server exited: {(workdir / 'server.log').read_text()[-3000:]}")
                    try:
                        if client.get(f"https://127.0.0.1:{port}/health/live").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.1)
                else:
                    pytest.fail("the server did not start")
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_a_client_with_a_certificate_from_the_ca_is_served(server: int, pki: tuple[Pki, dict[str, str]]) -> None:
    certificates, _ = pki
    with httpx.Client(verify=_context(certificates, certificates.client)) as client:
        response = client.get(f"https://127.0.0.1:{server}/health/live")
    assert response.status_code == 200
    assert response.url.scheme == "https"


def test_a_client_without_a_certificate_is_refused(server: int, pki: tuple[Pki, dict[str, str]]) -> None:
    certificates, _ = pki
    with httpx.Client(verify=_context(certificates, None)) as client, pytest.raises(REFUSED):
        client.get(f"https://127.0.0.1:{server}/health/live")


def test_a_certificate_from_another_ca_is_refused(server: int, pki: tuple[Pki, dict[str, str]]) -> None:
    certificates, _ = pki
    with httpx.Client(verify=_context(certificates, certificates.stranger)) as client, pytest.raises(REFUSED):
        client.get(f"https://127.0.0.1:{server}/health/live")


def test_plain_http_is_refused(server: int) -> None:
    with httpx.Client() as client, pytest.raises(REFUSED):
        client.get(f"http://127.0.0.1:{server}/health/live")


def _handshake_over_tls_1_2(port: int, context: ssl.SSLContext) -> None:
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() == "TLSv1.2"


def test_over_tls_1_2_the_handshake_itself_fails_without_a_client_certificate(
    server: int, pki: tuple[Pki, dict[str, str]]
) -> None:
    """TLS 1.2 checks the client certificate inside the handshake, so this is exactly where the refusal happens."""
    certificates, _ = pki
    _handshake_over_tls_1_2(server, _context(certificates, certificates.client))  # the same handshake works with one
    with pytest.raises(ssl.SSLError):
        _handshake_over_tls_1_2(server, _context(certificates, None))
