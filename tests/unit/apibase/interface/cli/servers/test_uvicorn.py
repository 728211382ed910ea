"""The uvicorn adapter: its configuration travels to the workers and arms the staged shutdown when loaded."""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import ClassVar, NoReturn

import pytest
import uvicorn

from apibase.interface.cli.servers import uvicorn as adapter
from apibase.interface.cli.servers.heap import FrozenStartupHeap
from apibase.interface.cli.servers.uvicorn import ServeConfig, run_server

pytestmark = pytest.mark.unit


def handler_of_the_server(sig: int, frame: FrameType | None) -> None:
    """Stands in for the handler uvicorn installs."""


@pytest.fixture
def server_handler() -> Iterator[Callable[[int, FrameType | None], None]]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in saved:
        signal.signal(sig, handler_of_the_server)
    yield handler_of_the_server
    for sig, previous in saved.items():
        signal.signal(sig, previous)


def a_config(*, freeze_heap: bool = False, **options: object) -> ServeConfig:
    return ServeConfig(
        "starlette.applications:Starlette", factory=True, drain_delay_seconds=2.5, freeze_heap=freeze_heap, **options
    )


def test_the_drain_delay_travels_to_worker_processes() -> None:
    copy = pickle.loads(pickle.dumps(a_config(workers=2)))  # noqa: S301 - what spawning a worker does
    assert isinstance(copy, ServeConfig)
    assert copy.drain_delay_seconds == 2.5


async def test_loading_the_configuration_in_a_worker_arms_the_drain(
    server_handler: Callable[[int, FrameType | None], None],
) -> None:
    config = a_config()
    config.load()
    wrapper = signal.getsignal(signal.SIGTERM)
    assert callable(wrapper)
    assert wrapper is not server_handler


async def test_the_loaded_app_freezes_the_heap_after_startup_when_asked(
    server_handler: Callable[[int, FrameType | None], None],
) -> None:
    frozen, plain = a_config(freeze_heap=True), a_config()
    frozen.load()
    plain.load()
    assert isinstance(frozen.loaded_app, FrozenStartupHeap)
    assert not isinstance(plain.loaded_app, FrozenStartupHeap)


def test_loading_it_off_the_main_thread_leaves_signals_alone(
    server_handler: Callable[[int, FrameType | None], None],
) -> None:
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
def fake_server(
    monkeypatch: pytest.MonkeyPatch, server_handler: Callable[[int, FrameType | None], None]
) -> type[FakeServer]:
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

    monkeypatch.setattr(adapter, "Multiprocess", FakeMultiprocess)
    config = a_config(workers=2, port=0)
    run_server(config)
    ((supervised_config, (sock,)),) = supervised
    sock.close()
    assert supervised_config is config
    assert fake_server.runs == []  # each worker builds its own server from the configuration
