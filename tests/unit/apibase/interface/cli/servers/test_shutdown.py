"""The staged shutdown: real signals sent to this process (the handlers are restored after each test).

A real server stopped under load, under each server: tests/integration/apibase/interface/cli/test_graceful_shutdown.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from types import FrameType

import pytest
import uvloop

from apibase.interface.cli.servers import shutdown
from apibase.interface.cli.servers.shutdown import drain_on_signal, stage_stop_signals
from apibase.testing.signals import run_reentered_at_every_call, watchdog

pytestmark = pytest.mark.unit


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


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records ``os._exit`` instead of ending the test run."""
    recorded: list[int] = []
    monkeypatch.setattr(os, "_exit", recorded.append)
    return recorded


@pytest.mark.usefixtures("server_handler")
async def test_a_server_without_a_forced_stop_is_stopped_once_then_ended_at_once(exits: list[int]) -> None:
    """granian's and hypercorn's case: the delay, one graceful stop, and the next signal ends the process."""
    stops: list[float] = []
    loop = asyncio.get_running_loop()
    shutting_down = threading.Event()
    stage_stop_signals(loop, lambda: stops.append(loop.time()), 0.1, shutting_down=shutting_down)
    sent = loop.time()
    signal.raise_signal(signal.SIGTERM)
    await asyncio.sleep(0.01)
    assert shutting_down.is_set()
    assert stops == []  # serving with readiness 503
    await asyncio.sleep(0.2)
    (stopped,) = stops
    assert stopped - sent >= 0.1
    assert exits == []
    signal.raise_signal(signal.SIGTERM)
    await asyncio.sleep(0.01)
    assert exits == [0]


@pytest.mark.usefixtures("server_handler")
def test_the_loop_need_not_run_when_the_stages_are_armed() -> None:
    """granian sets its signals up before its worker's loop runs."""
    loop = uvloop.new_event_loop()
    stops: list[str] = []
    try:
        stage_stop_signals(loop, lambda: stops.append("stop"), 0.0, shutting_down=threading.Event())
        signal.raise_signal(signal.SIGINT)
        loop.run_until_complete(asyncio.sleep(0.01))
    finally:
        loop.close()
    assert stops == ["stop"]


def test_exit_now_flushes_what_was_written(exits: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    print("the last words", end="")  # noqa: T201
    end: Callable[[], object] = shutdown.exit_now  # os._exit is recorded here: it returns
    end()
    assert exits == [0]
    assert capsys.readouterr().out == "the last words"
