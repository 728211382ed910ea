"""granian's supervisor: its stop-signal handler, in itself and in a worker it forked (real ones: tests/integration)."""

from __future__ import annotations

import os
import signal

import pytest

from apibase.core.settings import TlsSettings
from apibase.interface.cli.servers import ServerOptions
from apibase.interface.cli.servers.granian import granian_server
from apibase.interface.cli.servers.shutdown import _ExitCleanly
from apibase.interface.cli.servers.wakeup import WakeUpEvent
from apibase.testing.signals import run_reentered_at_every_call, watchdog

pytestmark = pytest.mark.unit

OPTIONS = ServerOptions(
    app="starlette.applications:Starlette",
    host="127.0.0.1",
    port=8000,
    workers=2,
    reload=False,
    drain_delay_seconds=2.0,
    grace_seconds=5,
    worker_healthcheck_timeout_seconds=30,
    tls=TlsSettings(),
)


def test_a_burst_re_entering_the_handler_anywhere_wakes_the_supervisor_without_deadlock() -> None:
    server = granian_server(OPTIONS)
    assert isinstance(server.main_loop_interrupt, WakeUpEvent)
    with watchdog(2.0):  # granian's own handler deadlocks here: it sets a threading.Event
        assert run_reentered_at_every_call(server.signal_handler_interrupt, signal.SIGTERM) >= 2
        assert server.main_loop_interrupt.wait()  # where its main thread waits, then stops the workers
    assert server.interrupt_signal


@pytest.mark.usefixtures("restored_signals")
def test_a_worker_still_starting_ends_on_the_handler_it_inherited_instead_of_losing_the_signal() -> None:
    server = granian_server(OPTIONS)
    server.supervisor_pid = os.getppid()  # as in a worker: the supervisor forked it
    with pytest.raises(SystemExit) as stopped:
        server.signal_handler_interrupt(signal.SIGTERM, None)
    assert stopped.value.code == 0
    assert not server.interrupt_signal  # the supervisor's own copy of the flag, in a worker: nothing would read it
    assert not server.main_loop_interrupt.is_set()
    assert isinstance(signal.getsignal(signal.SIGTERM), _ExitCleanly)  # another one while it ends: at once
