"""``apibase serve`` hands uvicorn the composition root with settings-derived defaults and CLI overrides.

The SIGTERM path is tested here with real signals sent to this process (the handlers are restored after each
test); a real server stopped under load is tests/integration/interface/cli/test_graceful_shutdown.py.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import pickle
import signal
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import FrameType
from typing import ClassVar, NoReturn

import pytest
import uvicorn
import uvloop
from typer.testing import CliRunner

from apibase.interface.cli import serve as serve_module
from apibase.interface.cli.main import cli
from apibase.interface.cli.serve import PRODUCTION_DRAIN_DELAY_SECONDS, ServeConfig, drain_on_signal, run_server

pytestmark = pytest.mark.unit

TLS_VARIABLES = [f"APIBASE_TLS__{name}" for name in ("CERT_FILE", "KEY_FILE", "CA_FILE", "REQUIRE_CLIENT_CERT")]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[ServeConfig]:
    recorded: list[ServeConfig] = []
    monkeypatch.setattr(serve_module, "run_server", recorded.append)
    for name in ("APIBASE_HOST", "APIBASE_PORT", "APIBASE_WORKERS", "APIBASE_ENVIRONMENT", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("APIBASE_TLS", "APIBASE_SHUTDOWN_GRACE_SECONDS", *TLS_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    return recorded


def test_serve_uses_settings_from_the_environment(calls: list[ServeConfig], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_PORT", "9001")
    monkeypatch.setenv("APIBASE_WORKERS", "3")
    monkeypatch.setenv("APIBASE_SHUTDOWN_GRACE_SECONDS", "7")
    monkeypatch.setenv("APIBASE_WORKER_HEALTHCHECK_TIMEOUT_SECONDS", "45")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (config,) = calls
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


def test_multiprocess_metrics_start_from_an_empty_directory(
    calls: list[ServeConfig], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = tmp_path / "counter_123.db"
    stale.write_bytes(b"left over by an earlier run")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    (config,) = calls
    assert (config.log_config, config.access_log) == (None, False)  # the service writes its own access log


def test_command_line_options_win_and_reload_means_one_worker(calls: list[ServeConfig]) -> None:
    options = ["--host", "0.0.0.0", "--port", "8080", "--reload", "--drain-delay", "2.5"]  # noqa: S104
    result = CliRunner().invoke(cli, ["serve", *options])
    assert result.exit_code == 0, result.output
    (config,) = calls
    assert (config.host, config.port, config.reload, config.workers) == ("0.0.0.0", 8080, True, 1)  # noqa: S104
    assert config.drain_delay_seconds == 2.5


@pytest.mark.parametrize(("environment", "delay"), [("production", PRODUCTION_DRAIN_DELAY_SECONDS), ("test", 0.0)])
def test_outside_development_and_tests_the_server_keeps_serving_after_sigterm(
    calls: list[ServeConfig], monkeypatch: pytest.MonkeyPatch, environment: str, delay: float
) -> None:
    monkeypatch.setenv("APIBASE_ENVIRONMENT", environment)
    monkeypatch.setenv("APIBASE_SECURITY__SECRET_KEY", "a-production-secret-of-sufficient-length-0123456789")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert calls[0].drain_delay_seconds == delay


def test_a_negative_drain_delay_is_refused(calls: list[ServeConfig]) -> None:
    result = CliRunner().invoke(cli, ["serve", "--drain-delay", "-1"])
    assert result.exit_code == 2
    assert calls == []


def test_invalid_settings_exit_2_naming_the_variable(calls: list[ServeConfig], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIBASE_PORT", "not-a-port")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "APIBASE_PORT" in result.output
    assert calls == []


def tls_options(config: ServeConfig) -> tuple[object, ...]:
    return (config.ssl_certfile, config.ssl_keyfile, config.ssl_ca_certs, config.ssl_cert_reqs)


def test_without_tls_settings_it_serves_plain_http(calls: list[ServeConfig]) -> None:
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert tls_options(call) == (None, None, None, ssl.CERT_NONE)


def test_a_certificate_and_key_serve_https_without_asking_for_client_certificates(
    calls: list[ServeConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIBASE_TLS__CERT_FILE", "/tls/server.pem")
    monkeypatch.setenv("APIBASE_TLS__KEY_FILE", "/tls/server.key")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert tls_options(call) == (Path("/tls/server.pem"), Path("/tls/server.key"), None, ssl.CERT_NONE)


def test_a_required_client_certificate_makes_it_mutual_tls(
    calls: list[ServeConfig], monkeypatch: pytest.MonkeyPatch
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
    calls: list[ServeConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIBASE_TLS__CERT_FILE", "/tls/server.pem")
    monkeypatch.setenv("APIBASE_TLS__KEY_FILE", "/tls/server.key")
    monkeypatch.setenv("APIBASE_TLS__REQUIRE_CLIENT_CERT", "true")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "APIBASE_TLS" in result.output
    assert calls == []


class ServerHandler:
    """Stands in for the handler uvicorn installs: records which signals reached it, and when."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []

    def __call__(self, sig: int, frame: FrameType | None) -> None:
        self.calls.append((sig, asyncio.get_running_loop().time()))

    @property
    def signals(self) -> list[int]:
        return [sig for sig, _ in self.calls]


@pytest.fixture
def server_handler() -> Iterator[ServerHandler]:
    handler = ServerHandler()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in saved:
        signal.signal(sig, handler)
    yield handler
    for sig, previous in saved.items():
        signal.signal(sig, previous)


async def test_sigterm_turns_readiness_off_at_once_and_stops_the_server_after_the_delay(
    server_handler: ServerHandler,
) -> None:
    shutting_down = threading.Event()
    drain_on_signal(0.2, shutting_down=shutting_down)
    sent = asyncio.get_running_loop().time()
    signal.raise_signal(signal.SIGTERM)
    await asyncio.sleep(0)  # the loop's next turn, before anything scheduled after the signal
    assert shutting_down.is_set()
    await asyncio.sleep(0.05)
    assert server_handler.calls == []  # still serving, with readiness 503
    await asyncio.sleep(0.3)
    ((sig, at),) = server_handler.calls
    assert sig == signal.SIGTERM
    assert at - sent >= 0.2


async def test_a_second_signal_ends_the_delay_a_third_forces_the_stop_and_later_ones_change_nothing(
    server_handler: ServerHandler,
) -> None:
    drain_on_signal(0.2, shutting_down=threading.Event())
    signal.raise_signal(signal.SIGTERM)
    await asyncio.sleep(0.01)
    signal.raise_signal(signal.SIGTERM)
    await asyncio.sleep(0.01)
    assert server_handler.signals == [signal.SIGTERM]
    await asyncio.sleep(0.3)
    assert server_handler.signals == [signal.SIGTERM]  # the cancelled delay does not stop it twice
    signal.raise_signal(signal.SIGTERM)  # uvicorn forces the exit on a SIGINT once it is stopping
    await asyncio.sleep(0.01)
    assert server_handler.signals == [signal.SIGTERM, signal.SIGINT]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.raise_signal(sig)
    await asyncio.sleep(0.01)
    assert server_handler.signals == [signal.SIGTERM, signal.SIGINT]


@pytest.mark.parametrize(("delay", "sig"), [(0.0, signal.SIGTERM), (10.0, signal.SIGINT)])
async def test_ctrl_c_and_a_zero_delay_stop_at_once(server_handler: ServerHandler, delay: float, sig: int) -> None:
    shutting_down = threading.Event()
    drain_on_signal(delay, shutting_down=shutting_down)
    signal.raise_signal(sig)
    await asyncio.sleep(0.01)
    assert server_handler.signals == [sig]
    assert shutting_down.is_set()
    signal.raise_signal(sig)  # a second one forces it
    await asyncio.sleep(0.01)
    assert server_handler.signals == [sig, signal.SIGINT]


INTERRUPTED_REQUEST: ContextVar[str | None] = ContextVar("interrupted_request", default=None)


async def test_the_stop_runs_outside_the_context_of_the_code_the_signal_interrupted() -> None:
    seen: list[str | None] = []
    previous = signal.signal(signal.SIGTERM, lambda sig, frame: seen.append(INTERRUPTED_REQUEST.get()))
    try:
        drain_on_signal(0.0, shutting_down=threading.Event())
        INTERRUPTED_REQUEST.set("request-1")  # its log lines and spans must not carry the stop's
        signal.raise_signal(signal.SIGTERM)
        await asyncio.sleep(0.01)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == [None]


@contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Break a deadlocked main thread: a blocked lock acquisition returns to run this signal's handler."""

    def expire(sig: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"still blocked after {seconds}s: deadlocked")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_reentered_at_every_call(handler: Callable[[int, FrameType | None], object], sig: int) -> int:
    """Run a signal handler and run it again at each call it makes, as a signal arriving right then would.

    Python runs a signal handler in the main thread between two bytecodes, so another signal may start it again
    at any point of itself, also while it holds a lock; a profile hook reaches each call inside it (the hook's
    own calls are not profiled, so a re-entered run is not re-entered again).
    """
    reentries = 0

    def reenter(frame: FrameType, event: str, arg: object) -> None:
        nonlocal reentries
        if event in {"call", "c_call"}:
            reentries += 1
            handler(sig, None)

    sys.setprofile(reenter)
    try:
        handler(sig, None)
    finally:
        sys.setprofile(None)
    return reentries


@pytest.mark.parametrize("loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"])
def test_a_signal_arriving_inside_the_handler_neither_deadlocks_nor_skips_a_stage(
    server_handler: ServerHandler, loop_factory: Callable[[], asyncio.AbstractEventLoop]
) -> None:
    shutting_down = threading.Event()

    async def burst() -> int:
        drain_on_signal(10.0, shutting_down=shutting_down)
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        with watchdog(2.0):
            reentries = run_reentered_at_every_call(handler, signal.SIGTERM)
        await asyncio.sleep(0.01)
        return reentries

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        assert runner.run(burst()) >= 2  # uvloop's call_soon_threadsafe is one compiled call
    assert shutting_down.is_set()
    assert server_handler.signals == [signal.SIGTERM, signal.SIGINT]  # draining now, then forced


async def test_default_and_ignoring_handlers_are_left_alone(server_handler: ServerHandler) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    drain_on_signal(1.0, shutting_down=threading.Event())
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) is not server_handler  # the callable one is wrapped


def a_config(**options: object) -> ServeConfig:
    return ServeConfig("starlette.applications:Starlette", factory=True, drain_delay_seconds=2.5, **options)


def test_the_drain_delay_travels_to_worker_processes() -> None:

    copy = pickle.loads(pickle.dumps(a_config(workers=2)))  # noqa: S301 - what spawning a worker does
    assert isinstance(copy, ServeConfig)
    assert copy.drain_delay_seconds == 2.5


async def test_loading_the_configuration_in_a_worker_arms_the_drain(server_handler: ServerHandler) -> None:
    config = a_config()
    config.load()
    wrapper = signal.getsignal(signal.SIGTERM)
    assert callable(wrapper)
    assert wrapper is not server_handler


def test_loading_it_off_the_main_thread_leaves_signals_alone(server_handler: ServerHandler) -> None:
    config = a_config()
    loader = threading.Thread(target=config.load)
    loader.start()
    loader.join()
    assert config.loaded
    assert signal.getsignal(signal.SIGTERM) is server_handler


class FakeServer:
    started_on_run: ClassVar[bool] = True
    runs: ClassVar[list[ServeConfig]] = []

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.started = False

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        FakeServer.runs.append(self.config)
        self.started = self.started_on_run


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch, server_handler: ServerHandler) -> type[FakeServer]:
    FakeServer.runs = []
    FakeServer.started_on_run = True
    monkeypatch.setattr(uvicorn, "Server", FakeServer)
    return FakeServer


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_one_worker_runs_the_server_and_a_re_raised_signal_exits_0(fake_server: type[FakeServer], sig: int) -> None:
    config = a_config()
    run_server(config)
    assert fake_server.runs == [config]
    with pytest.raises(SystemExit) as exit_:
        signal.raise_signal(sig)  # what uvicorn does once it has stopped
    assert exit_.value.code == 0


class ExitNowError(Exception):
    """Stands in for ``os._exit``, which would end the test run."""


def test_a_signal_during_the_teardown_exits_at_once_instead_of_raising_again(
    fake_server: type[FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    def exit_now(status: int) -> NoReturn:
        raise ExitNowError(status)

    monkeypatch.setattr(os, "_exit", exit_now)
    at_exit: list[Callable[[], None]] = []
    monkeypatch.setattr(atexit, "register", at_exit.append)
    run_server(a_config())
    with pytest.raises(SystemExit):
        signal.raise_signal(signal.SIGTERM)
    with pytest.raises(ExitNowError) as exited:
        signal.raise_signal(signal.SIGINT)
    assert exited.value.args == (0,)
    (ignore_stop_signals,) = at_exit  # the interpreter's own last steps cannot be stopped by a signal
    ignore_stop_signals()
    assert signal.getsignal(signal.SIGTERM) == signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_a_server_that_never_started_exits_with_uvicorns_start_up_failure(fake_server: type[FakeServer]) -> None:
    fake_server.started_on_run = False
    with pytest.raises(SystemExit) as exit_:
        run_server(a_config())
    assert exit_.value.code == 3


def test_several_workers_run_under_uvicorns_supervisor(
    fake_server: type[FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    supervised: list[tuple[ServeConfig, list[socket.socket]]] = []

    class FakeMultiprocess:
        def __init__(self, config: ServeConfig, sockets: list[socket.socket]) -> None:
            supervised.append((config, sockets))

        def run(self) -> None:
            return None

    monkeypatch.setattr(serve_module, "Multiprocess", FakeMultiprocess)
    config = a_config(workers=2, port=0)
    run_server(config)
    ((supervised_config, (sock,)),) = supervised
    sock.close()
    assert supervised_config is config
    assert fake_server.runs == []  # each worker builds its own server from the configuration
