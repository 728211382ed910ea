"""The staged graceful shutdown every server adapter arms in each worker process; each stop signal moves it on.

1. The first SIGTERM turns readiness 503 (the process-wide ``SHUTTING_DOWN`` event of
   :mod:`apibase.interface.http.health`) and the server keeps serving for the drain delay (Kubernetes sends
   SIGTERM while endpoints may still route to the pod for a moment).
2. Then, or at once on a second signal (or a first SIGINT: Ctrl+C skips the delay), the server stops accepting
   and lets in-flight requests finish for up to ``APIBASE_SHUTDOWN_GRACE_SECONDS``; the application's shutdown
   closes its pools.
3. A signal during that drain stops the wait for in-flight requests: uvicorn's forced exit, which still runs the
   application's shutdown; granian and hypercorn have no such stage of their own, so the worker ends at once.

Why the signal handler only calls ``loop.call_soon_threadsafe``: a Python signal handler runs in the main thread
between any two bytecodes, also inside another run of itself or inside a lock that thread holds, so it must not
take a lock (``threading.Event.set`` does: a burst of SIGTERMs once deadlocked the server that way). Queueing a
callback is lock-free on both loops (asyncio appends to a deque and writes a byte to its self-pipe; uvloop
appends to a deque and calls ``uv_async_send``); everything else, readiness included, happens on the loop's next
turn. ``loop.add_signal_handler`` would run the work on the loop too, but it does not compose with uvicorn,
which installs and restores its handlers with ``signal.signal`` and re-raises the stopping signal afterwards:
the loop would still own the signal after uvicorn restored it, and reset it to the default when it closes, so a
late signal would kill the process (143) instead of ending in a clean exit. Before a server takes the signals
over and after it hands them back, the first signal raises ``SystemExit(0)`` and one more during the teardown
ends the process at once (``os._exit(0)``); neither takes a lock.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import enum
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

from apibase.interface.http.health import SHUTTING_DOWN

__all__ = ["STOP_SIGNALS", "drain_on_signal", "exit_cleanly_on_signal", "exit_now", "stage_stop_signals"]

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

type SignalHandler = Callable[[int, FrameType | None], object]


def drain_on_signal(delay_seconds: float, *, shutting_down: threading.Event = SHUTTING_DOWN) -> None:
    """Wrap the running server's SIGTERM and SIGINT handlers in one :class:`_StagedShutdown`.

    Call it on the server's event loop after the server installed its handlers (uvicorn restores its own
    originals when it stops, which removes these wrappers too).
    """
    stops: dict[int, SignalHandler] = {}
    for sig in STOP_SIGNALS:
        if callable(previous := signal.getsignal(sig)):
            stops[sig] = previous
    _install(_StagedShutdown(asyncio.get_running_loop(), stops, delay_seconds, shutting_down), stops)


def stage_stop_signals(
    loop: asyncio.AbstractEventLoop,
    stop: Callable[[], object],
    delay_seconds: float,
    *,
    shutting_down: threading.Event = SHUTTING_DOWN,
) -> None:
    """For a server whose only stop is ``stop`` (granian's, hypercorn's): the stages, then an exit at once.

    ``loop`` need not run yet; ``stop`` is called on it, and a signal after it ends the process.
    """
    stop_then_exit = _StopThenExit(stop)
    stops: dict[int, SignalHandler] = dict.fromkeys(STOP_SIGNALS, stop_then_exit)
    _install(_StagedShutdown(loop, stops, delay_seconds, shutting_down), stops)


def _install(shutdown: _StagedShutdown, stops: dict[int, SignalHandler]) -> None:
    for wrapped in stops:
        signal.signal(wrapped, shutdown)


class _StopThenExit:
    """A graceful stop the first time; the process ends at once the next (the forced stage)."""

    def __init__(self, stop: Callable[[], object]) -> None:
        self._stop = stop
        self._stopped = False

    def __call__(self, sig: int, frame: FrameType | None) -> None:
        if self._stopped:
            exit_now()
        self._stopped = True
        self._stop()


def exit_now() -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


class _Stage(enum.Enum):
    SERVING = enum.auto()
    DELAYING = enum.auto()  # readiness is off, still serving for the drain delay
    STOPPING = enum.auto()  # the server stopped accepting and drains in-flight requests
    FORCED = enum.auto()  # the server no longer waits for in-flight requests


class _StagedShutdown:
    """Each stop signal moves the shutdown one stage on; all the work happens on the event loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        stops: dict[int, SignalHandler],
        delay_seconds: float,
        shutting_down: threading.Event,
    ) -> None:
        self._loop = loop
        self._stops = stops
        self._delay = delay_seconds
        self._shutting_down = shutting_down
        self._stage = _Stage.SERVING
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, sig: int, frame: FrameType | None) -> None:
        # The signal handler: it may run between any two bytecodes of the main thread, also inside itself or
        # inside a lock that thread holds, so it only queues the work (a deque append and a wake-up write), in
        # a context of its own rather than that of whichever request it interrupted.
        self._loop.call_soon_threadsafe(self._advance, sig, context=contextvars.Context())

    def _advance(self, sig: int) -> None:
        self._shutting_down.set()
        name = signal.Signals(sig).name
        match self._stage:
            case _Stage.SERVING if sig == signal.SIGTERM and self._delay > 0:
                logger.warning("%s received: readiness is off; serving for %ss more before draining", name, self._delay)
                self._stage = _Stage.DELAYING
                self._timer = self._loop.call_later(self._delay, self._stop, sig)
            case _Stage.SERVING | _Stage.DELAYING:
                if self._timer is not None:
                    self._timer.cancel()
                    logger.warning("%s received again: draining now", name)
                self._stop(sig)
            case _Stage.STOPPING:
                logger.warning("%s received while draining: no longer waiting for in-flight requests", name)
                self._stage = _Stage.FORCED
                # uvicorn stops waiting when SIGINT comes after it began to stop
                self._stops.get(signal.SIGINT, self._stops[sig])(signal.SIGINT, None)
            case _Stage.FORCED:
                pass

    def _stop(self, sig: int) -> None:
        self._timer = None
        self._stage = _Stage.STOPPING
        self._stops[sig](sig, None)


def exit_cleanly_on_signal() -> None:
    """Until a server takes the stop signals over (and once it hands them back): exit 0, see :class:`_ExitCleanly`."""
    exit_cleanly = _ExitCleanly()
    for sig in STOP_SIGNALS:
        signal.signal(sig, exit_cleanly)


class _ExitCleanly:
    """The first stop signal exits 0 through ``SystemExit``, so the teardown runs; one more during it exits now.

    A ``SystemExit`` raised at a random point of the teardown could leave it stuck (a pool that is not closed
    keeps its non-daemon thread, and the interpreter waits for it), so a later signal does not raise again.
    The interpreter's last steps, after the exit handlers, ignore stop signals: finalizing, it would reset them to
    their default action, and one arriving then would end the process with 143.
    """

    def __init__(self) -> None:
        self._exiting = False

    def __call__(self, sig: int, frame: FrameType | None) -> NoReturn:
        if self._exiting:
            os._exit(0)
        self._exiting = True
        atexit.register(_ignore_stop_signals)
        raise SystemExit(0)


def _ignore_stop_signals() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
