"""``apibase serve`` hands uvicorn the composition root with settings-derived defaults and CLI overrides."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.interface.cli import serve as serve_module
from app.interface.cli.main import cli

pytestmark = pytest.mark.unit

TLS_VARIABLES = [f"APIBASE_TLS__{name}" for name in ("CERT_FILE", "KEY_FILE", "CA_FILE", "REQUIRE_CLIENT_CERT")]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    recorded: list[dict[str, object]] = []

    def fake_run(target: str, **options: object) -> None:
        recorded.append({"target": target, **options})

    monkeypatch.setattr(serve_module.uvicorn, "run", fake_run)
    for name in ("APIBASE_HOST", "APIBASE_PORT", "APIBASE_WORKERS", "APIBASE_TLS", *TLS_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    return recorded


def test_serve_uses_settings_from_the_environment(
    calls: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIBASE_PORT", "9001")
    monkeypatch.setenv("APIBASE_WORKERS", "3")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert call["target"] == "app.main:create_app"
    assert (call["factory"], call["host"], call["port"], call["workers"]) == (True, "127.0.0.1", 9001, 3)
    assert (call["loop"], call["http"]) == ("uvloop", "httptools")


def test_command_line_options_win_and_reload_means_one_worker(calls: list[dict[str, object]]) -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8080", "--reload"])  # noqa: S104
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert (call["host"], call["port"], call["reload"], call["workers"]) == ("0.0.0.0", 8080, True, None)  # noqa: S104


def test_invalid_settings_exit_2_naming_the_variable(
    calls: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIBASE_PORT", "not-a-port")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "APIBASE_PORT" in result.output
    assert calls == []


def tls_options(call: dict[str, object]) -> tuple[object, ...]:
    return (call["ssl_certfile"], call["ssl_keyfile"], call["ssl_ca_certs"], call["ssl_cert_reqs"])


def test_without_tls_settings_it_serves_plain_http(calls: list[dict[str, object]]) -> None:
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert tls_options(call) == (None, None, None, ssl.CERT_NONE)


def test_a_certificate_and_key_serve_https_without_asking_for_client_certificates(
    calls: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIBASE_TLS__CERT_FILE", "/tls/server.pem")
    monkeypatch.setenv("APIBASE_TLS__KEY_FILE", "/tls/server.key")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert tls_options(call) == (Path("/tls/server.pem"), Path("/tls/server.key"), None, ssl.CERT_NONE)


def test_a_required_client_certificate_makes_it_mutual_tls(
    calls: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIBASE_TLS__CERT_FILE", "/tls/server.pem")
    monkeypatch.setenv("APIBASE_TLS__KEY_FILE", "/tls/server.key")
    monkeypatch.setenv("APIBASE_TLS__CA_FILE", "/tls/clients-ca.pem")
    monkeypatch.setenv("APIBASE_TLS__REQUIRE_CLIENT_CERT", "true")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert tls_options(call) == (
        Path("/tls/server.pem"),
        Path("/tls/server.key"),
        Path("/tls/clients-ca.pem"),
        ssl.CERT_REQUIRED,
    )


def test_requiring_client_certificates_without_a_ca_exits_2(
    calls: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIBASE_TLS__CERT_FILE", "/tls/server.pem")
    monkeypatch.setenv("APIBASE_TLS__KEY_FILE", "/tls/server.key")
    monkeypatch.setenv("APIBASE_TLS__REQUIRE_CLIENT_CERT", "true")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "APIBASE_TLS" in result.output
    assert calls == []
