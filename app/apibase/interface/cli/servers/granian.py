"""granian: a Rust HTTP stack for speed; HTTP/1.1, HTTP/2 over TLS (ALPN) and cleartext HTTP/2 (h2c) on one port.

granian's supervisor process owns the listening socket and, on a stop signal, sends each worker one SIGTERM, then
waits for it up to the drain delay plus the grace (and a margin) before it kills it. Its signal handler wakes the
main thread through an event that takes no lock (:mod:`.wakeup`; granian's own ``threading.Event`` hung the
supervisor on a burst of SIGTERMs). A worker forked from it keeps that handler until granian arms the worker's
own: a worker still starting then just ends (it has served nothing), instead of losing the signal and serving on
until the supervisor kills it. In each worker granian stops on a ``WorkerSignal`` it creates in
``granian._signals.set_loop_signals``, which would install its own handlers on the loop; the worker's app loader
(which granian runs in the worker just before that) replaces the function with one that returns the same kind of
signal but stages the stop (:func:`stage_stop_signals`). The Rust server then stops accepting and drains in-flight
requests; the worker ends at once if they take longer than the grace.
"""

from __future__ import annotations

import asyncio
import math
import os
from functools import partial

from granian import _signals
from granian._granian import WorkerSignal
from granian.constants import HTTPModes, Interfaces, Loops
from granian.server.mp import MPServer
from starlette.types import ASGIApp

from apibase.interface.cli.servers import ServerOptions, service_app
from apibase.interface.cli.servers.shutdown import exit_cleanly_on_signal, exit_now, stage_stop_signals
from apibase.interface.cli.servers.wakeup import WakeUpEvent

__all__ = ["Supervisor", "granian_server", "run"]

#: How long past the drain delay and the grace the supervisor waits for a worker before it kills it.
KILL_MARGIN_SECONDS = 5


class Supervisor(MPServer):
    """granian's supervisor with worker processes, whose stop-signal handler takes no lock and no worker's signal."""

    def __init__(self, target: str, **options: object) -> None:
        super().__init__(target, **options)  # type: ignore[arg-type]
        self.main_loop_interrupt = WakeUpEvent()  # set by the handler, in the main thread that waits on it
        self.supervisor_pid = os.getpid()

    def signal_handler_interrupt(self, *args: object, **kwargs: object) -> None:
        if os.getpid() != self.supervisor_pid:  # a worker forked from here, still starting: not armed yet
            exit_cleanly_on_signal()
            raise SystemExit(0)
        self.interrupt_signal = True  # what granian's handler does, on the event that takes no lock
        self.main_loop_interrupt.set()


def granian_server(options: ServerOptions) -> Supervisor:
    """granian's server for ``options``: ASGI on uvloop, HTTP/1.1 and HTTP/2, TLS when configured."""
    certificate = options.certificate
    # its supervisor with worker processes (not the threads of free-threaded builds): each has its own signals
    return Supervisor(
        options.app,
        address=options.host,
        port=options.port,
        interface=Interfaces.ASGI,
        workers=options.workers,
        loop=Loops.uvloop,
        http=HTTPModes.auto,
        log_access=False,  # the service logs every request itself
        ssl_cert=certificate[0] if certificate else None,
        ssl_key=certificate[1] if certificate else None,
        ssl_ca=options.tls.ca_file,
        ssl_client_verify=options.tls.require_client_cert,
        workers_kill_timeout=math.ceil(options.drain_delay_seconds) + options.grace_seconds + KILL_MARGIN_SECONDS,
    )


def run(options: ServerOptions) -> None:
    """Serve with granian until stopped."""
    server = granian_server(options)
    exit_cleanly_on_signal()  # until granian's supervisor takes the signals over, and once it hands them back
    try:
        server.serve(target_loader=partial(load_worker_app, options), wrap_loader=False)
    finally:
        exit_cleanly_on_signal()


def load_worker_app(options: ServerOptions) -> ASGIApp:
    """In a worker, before granian sets its signals up: stage them, then build the app."""
    _signals.set_loop_signals = partial(staged_worker_signal, options)
    return service_app(options.app, freeze_heap=options.freeze_heap)


def staged_worker_signal(options: ServerOptions, loop: asyncio.AbstractEventLoop) -> WorkerSignal:
    """What ``set_loop_signals`` returns to granian's worker: the signal its server stops on, set in stages."""
    stopped = WorkerSignal()

    def stop() -> None:
        stopped.set()
        loop.call_later(options.grace_seconds, exit_now)  # requests still in flight after the grace are cut off

    stage_stop_signals(loop, stop, options.drain_delay_seconds)
    return stopped
