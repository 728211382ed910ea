"""``apibase serve`` hands the chosen server the composition root with settings-derived defaults and CLI overrides.

The servers' adapters are tested in servers/; real server processes in tests/integration/apibase/interface/cli/.
"""

from __future__ import annotations

import ssl
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apibase.core.settings import ServerKind
from apibase.interface.cli import servers
from apibase.interface.cli.main import cli
from apibase.interface.cli.serve import PRODUCTION_DRAIN_DELAY_SECONDS
from apibase.interface.cli.servers import ServerOptions
from apibase.interface.cli.servers.uvicorn import ServeConfig, serve_config

pytestmark = pytest.mark.unit

TLS_VARIABLES = [f"APIBASE_TLS__{name}" for name in ("CERT_FILE", "KEY_FILE", "CA_FILE", "REQUIRE_CLIENT_CERT")]


@dataclass
class Served:
    """What ``apibase serve`` asked for: the server and its options, and uvicorn's configuration for them."""

    runs: list[tuple[ServerKind, ServerOptions]] = field(default_factory=list)

    @property
    def configs(self) -> list[ServeConfig]:
        return [serve_config(options) for _, options in self.runs]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    recorded = Served()
    monkeypatch.setattr(servers, "run", lambda kind, options: recorded.runs.append((kind, options)))
    for name in ("APIBASE_HOST", "APIBASE_PORT", "APIBASE_WORKERS", "APIBASE_ENVIRONMENT", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "APIBASE_TLS",
        "APIBASE_SHUTDOWN_GRACE_SECONDS",
        "APIBASE_SERVER",
        "APIBASE_HTTP3_PORT",
        *TLS_VARIABLES,
    ):
        monkeypatch.delenv(name, raising=False)
    return recorded


def test_serve_uses_settings_from_the_environment(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_PORT", "9001")
    monkeypatch.setenv("APIBASE_WORKERS", "3")
    monkeypatch.setenv("APIBASE_SHUTDOWN_GRACE_SECONDS", "7")
    monkeypatch.setenv("APIBASE_WORKER_HEALTHCHECK_TIMEOUT_SECONDS", "45")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (config,) = served.configs
    assert (config.app, config.factory) == ("apibase.service:create_service_app", True)
    assert (config.host, config.port, config.workers, config.should_reload) == ("127.0.0.1", 9001, 3, False)
    assert (config.loop, config.http, config.proxy_headers, config.server_header) == (
        "uvloop",
        "httptools",
        True,
        False,
    )
    assert (config.timeout_graceful_shutdown, config.timeout_worker_healthcheck) == (7, 45)
    assert config.drain_delay_seconds == 0.0  # development: Ctrl+C and test servers stop at once
    assert config.freeze_heap is True


def test_freezing_the_heap_can_be_turned_off(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_GC_FREEZE", "false")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (config,) = served.configs
    assert config.freeze_heap is False


def test_multiprocess_metrics_start_from_an_empty_directory(
    served: Served, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = tmp_path / "counter_123.db"
    stale.write_bytes(b"left over by an earlier run")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    (config,) = served.configs
    assert (config.log_config, config.access_log) == (None, False)  # the service writes its own access log


def test_command_line_options_win_and_reload_means_one_worker(served: Served) -> None:
    options = ["--host", "0.0.0.0", "--port", "8080", "--reload", "--drain-delay", "2.5"]  # noqa: S104
    result = CliRunner().invoke(cli, ["serve", *options])
    assert result.exit_code == 0, result.output
    (config,) = served.configs
    assert (config.host, config.port, config.reload, config.workers) == ("0.0.0.0", 8080, True, 1)  # noqa: S104
    assert config.drain_delay_seconds == 2.5


@pytest.mark.parametrize(("environment", "delay"), [("production", PRODUCTION_DRAIN_DELAY_SECONDS), ("test", 0.0)])
def test_outside_development_and_tests_the_server_keeps_serving_after_sigterm(
    served: Served, monkeypatch: pytest.MonkeyPatch, environment: str, delay: float
) -> None:
    monkeypatch.setenv("APIBASE_ENVIRONMENT", environment)
    monkeypatch.setenv("APIBASE_SECURITY__SECRET_KEY", "a-production-secret-of-sufficient-length-0123456789")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert served.configs[0].drain_delay_seconds == delay


def test_a_negative_drain_delay_is_refused(served: Served) -> None:
    result = CliRunner().invoke(cli, ["serve", "--drain-delay", "-1"])
    assert result.exit_code == 2
    assert served.runs == []


def test_invalid_settings_exit_2_naming_the_variable(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_PORT", "not-a-port")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "APIBASE_PORT" in result.output
    assert served.runs == []


def tls_options(config: ServeConfig) -> tuple[object, ...]:
    return (config.ssl_certfile, config.ssl_keyfile, config.ssl_ca_certs, config.ssl_cert_reqs)


def test_without_tls_settings_it_serves_plain_http(served: Served) -> None:
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (call,) = served.configs
    assert tls_options(call) == (None, None, None, ssl.CERT_NONE)


def test_a_certificate_and_key_serve_https_without_asking_for_client_certificates(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIBASE_TLS__CERT_FILE", "/tls/server.pem")
    monkeypatch.setenv("APIBASE_TLS__KEY_FILE", "/tls/server.key")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (call,) = served.configs
    assert tls_options(call) == (Path("/tls/server.pem"), Path("/tls/server.key"), None, ssl.CERT_NONE)


def test_a_required_client_certificate_makes_it_mutual_tls(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_TLS__CERT_FILE", "/tls/server.pem")
    monkeypatch.setenv("APIBASE_TLS__KEY_FILE", "/tls/server.key")
    monkeypatch.setenv("APIBASE_TLS__CA_FILE", "/tls/clients-ca.pem")
    monkeypatch.setenv("APIBASE_TLS__REQUIRE_CLIENT_CERT", "true")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (call,) = served.configs
    assert tls_options(call) == (
        Path("/tls/server.pem"),
        Path("/tls/server.key"),
        Path("/tls/clients-ca.pem"),
        ssl.CERT_REQUIRED,
    )


def test_requiring_client_certificates_without_a_ca_exits_2(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_TLS__CERT_FILE", "/tls/server.pem")
    monkeypatch.setenv("APIBASE_TLS__KEY_FILE", "/tls/server.key")
    monkeypatch.setenv("APIBASE_TLS__REQUIRE_CLIENT_CERT", "true")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "APIBASE_TLS" in result.output
    assert served.runs == []


def test_uvicorn_is_the_default_server(served: Served) -> None:
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    ((kind, _),) = served.runs
    assert kind is ServerKind.UVICORN


@pytest.mark.parametrize("kind", list(ServerKind))
def test_the_server_comes_from_the_settings_and_the_option_wins(
    served: Served, monkeypatch: pytest.MonkeyPatch, kind: ServerKind
) -> None:
    monkeypatch.setenv("APIBASE_SERVER", "granian" if kind is ServerKind.UVICORN else "uvicorn")
    result = CliRunner().invoke(cli, ["serve", "--server", kind.value])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("APIBASE_SERVER", kind.value)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert [chosen for chosen, _ in served.runs] == [kind, kind]


def test_an_unknown_server_is_refused(served: Served) -> None:
    result = CliRunner().invoke(cli, ["serve", "--server", "gunicorn"])
    assert result.exit_code == 2
    assert served.runs == []


def test_http3_is_served_by_hypercorn_over_tls(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_HTTP3_PORT", "8443")
    for refused in (["--server", "granian"], ["--server", "hypercorn"]):  # the second without TLS
        result = CliRunner().invoke(cli, ["serve", *refused])
        assert result.exit_code == 2
        assert "APIBASE_HTTP3_PORT needs --server hypercorn and TLS" in result.output
    monkeypatch.setenv("APIBASE_TLS__CERT_FILE", "/tls/server.pem")
    monkeypatch.setenv("APIBASE_TLS__KEY_FILE", "/tls/server.key")
    result = CliRunner().invoke(cli, ["serve", "--server", "hypercorn"])
    assert result.exit_code == 0, result.output
    ((_, options),) = served.runs
    assert options.http3_port == 8443


@pytest.mark.parametrize("kind", ["granian", "hypercorn"])
def test_only_uvicorn_reloads(served: Served, kind: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--server", kind, "--reload"])
    assert result.exit_code == 2
    assert "--reload runs under uvicorn (development)" in result.output
    assert served.runs == []


def test_a_server_whose_extra_is_missing_exits_2_naming_the_extra(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # the real dispatch, with granian not importable
    monkeypatch.setitem(sys.modules, "granian", None)
    monkeypatch.delitem(sys.modules, "apibase.interface.cli.servers.granian", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--server", "granian"])
    assert result.exit_code == 2
    assert "pip install 'apibase[granian]'" in result.output
