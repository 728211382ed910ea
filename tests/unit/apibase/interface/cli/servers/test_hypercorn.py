"""hypercorn's supervisor: a stop signal while it is still starting workers (real servers: tests/integration)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from types import SimpleNamespace
from typing import ClassVar

import pytest
from hypercorn.config import Sockets

from apibase.core.settings import TlsSettings
from apibase.interface.cli.servers import ServerOptions
from apibase.interface.cli.servers import hypercorn as hypercorn_adapter
from apibase.testing.signals import watchdog

pytestmark = pytest.mark.unit


class SleepingWorker:
    """Stands in for a spawned worker: a real process that only a signal ends; starting the first raises SIGTERM."""

    started: ClassVar[list[SleepingWorker]] = []

    def __init__(self, **process: object) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["sleep", "60"])  # noqa: S607 - coreutils' sleep, found on PATH
        self.pid = self.process.pid
        self.sentinel = os.pidfd_open(self.pid)
        SleepingWorker.started.append(self)
        if len(SleepingWorker.started) == 1:  # the stop arrives while the supervisor is starting its workers
            signal.raise_signal(signal.SIGTERM)

    def join(self) -> None:
        assert self.process is not None
        self.process.wait()


@pytest.fixture
def sleeping_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[SleepingWorker]]:
    monkeypatch.setattr(
        hypercorn_adapter.multiprocessing, "get_context", lambda method: SimpleNamespace(Process=SleepingWorker)
    )
    SleepingWorker.started = []
    yield SleepingWorker.started
    for worker in SleepingWorker.started:
        assert worker.process is not None
        worker.process.kill()
        worker.process.wait()
        os.close(worker.sentinel)


@pytest.mark.usefixtures("restored_signals")
def test_a_signal_while_the_workers_start_stops_those_started_and_starts_no_more(
    sleeping_workers: list[SleepingWorker],
) -> None:
    options = ServerOptions(
        app="starlette.applications:Starlette",
        host="127.0.0.1",
        port=8000,
        workers=3,
        reload=False,
        drain_delay_seconds=2.0,
        grace_seconds=5,
        worker_healthcheck_timeout_seconds=30,
        tls=TlsSettings(),
    )
    with watchdog(10.0):  # signalled from the handler, a worker started after it was never stopped: waited for ever
        hypercorn_adapter._supervise(options, hypercorn_adapter.hypercorn_config(options), Sockets([], [], []))
    assert len(sleeping_workers) == 1
    assert sleeping_workers[0].process is not None
    assert sleeping_workers[0].process.returncode == -signal.SIGTERM
