"""``apibase serve``: uvicorn with uvloop and httptools, defaults from the ``APIBASE_*`` settings.

With ``APIBASE_TLS__CERT_FILE``/``KEY_FILE`` it serves HTTPS itself (no proxy in front); adding ``CA_FILE`` and
``REQUIRE_CLIENT_CERT=true`` makes it mutual TLS: the handshake fails for a client without a certificate signed
by that CA, before any request reaches the application.

Graceful shutdown, in each worker process, in stages; each SIGTERM or SIGINT moves it one stage on:

1. The first SIGTERM turns readiness 503 (the process-wide ``SHUTTING_DOWN`` event of
   :mod:`apibase.interface.http.health`) and the server keeps serving for ``--drain-delay`` seconds (Kubernetes
   sends SIGTERM while endpoints may still route to the pod for a moment).
2. Then, or at once on a second signal (or a first SIGINT: Ctrl+C skips the delay), the server stops accepting
   and lets in-flight requests finish for up to ``APIBASE_SHUTDOWN_GRACE_SECONDS``; the application's shutdown
   closes its pools.
3. A signal during that drain stops the wait for in-flight requests (uvicorn's forced exit); later ones change
   nothing until the server has stopped; one more during the teardown that follows ends the process at once.
   However many signals arrive, the command exits 0. Under ``--workers N`` uvicorn's supervisor only
   queues what it receives and sends each worker one SIGTERM, so each worker goes through stages 1 and 2 once.

Why the signal handler only calls ``loop.call_soon_threadsafe``: a Python signal handler runs in the main thread
between any two bytecodes, also inside another run of itself or inside a lock that thread holds, so it must not
take a lock (``threading.Event.set`` does: a burst of SIGTERMs once deadlocked the server that way). Queueing a
callback is lock-free on both loops (asyncio appends to a deque and writes a byte to its self-pipe; uvloop
appends to a deque and calls ``uv_async_send``); everything else, readiness included, happens on the loop's next
turn. ``loop.add_signal_handler`` would run the work on the loop too, but it does not compose with uvicorn,
which installs and restores its handlers with ``signal.signal`` and re-raises the stopping signal afterwards:
the loop would still own the signal after uvicorn restored it, and reset it to the default when it closes, so a
late signal would kill the process (143) instead of ending in a clean exit. Before uvicorn takes the signals
over and after it hands them back, the first signal raises ``SystemExit(0)`` and one more during the teardown
ends the process at once (``os._exit(0)``); neither takes a lock.

Why a :class:`ServeConfig` rather than a ``uvicorn.Server`` subclass: with ``--workers N`` uvicorn's supervisor
builds a plain ``Server`` in each worker, but the configuration travels to every worker, and each worker's
server loads it inside ``capture_signals()``, right after installing its own SIGTERM/SIGINT handlers. Loading
wraps those handlers, so one mechanism covers one worker, ``--workers N`` and ``--reload`` alike.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import enum
import logging
import os
import signal
import ssl
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Final, NoReturn

import typer
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import ChangeReload, Multiprocess

from apibase.core.settings import Environment, Settings, SettingsError, load_settings
from apibase.infrastructure.observability.metrics import MULTIPROC_DIR_VARIABLE, prepare_multiprocess_dir
from apibase.interface.http.health import SHUTTING_DOWN

__all__ = [
    "APP_FACTORY",
    "PRODUCTION_DRAIN_DELAY_SECONDS",
    "ServeConfig",
    "drain_on_signal",
    "run_server",
    "serve",
]

logger = logging.getLogger(__name__)

#: The configured service's app factory, imported by uvicorn in each worker (``factory=True`` calls it).
APP_FACTORY = "apibase.service:create_service_app"

#: The default ``--drain-delay`` outside development and tests: longer than a readiness probe period plus the
#: time endpoint controllers and proxies take to stop routing; keep it + the grace below the pod's grace period.
PRODUCTION_DRAIN_DELAY_SECONDS: Final = 5.0

type SignalHandler = Callable[[int, FrameType | None], object]


class ServeConfig(uvicorn.Config):
    """uvicorn's configuration plus the drain delay; loading it in a worker arms :func:`drain_on_signal`."""

    def __init__(self, app: str, *, drain_delay_seconds: float, **options: object) -> None:
        super().__init__(app, **options)  # type: ignore[arg-type]
        self.drain_delay_seconds = drain_delay_seconds

    def load(self) -> None:
        super().load()
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            drain_on_signal(self.drain_delay_seconds)


def drain_on_signal(delay_seconds: float, *, shutting_down: threading.Event = SHUTTING_DOWN) -> None:
    """Wrap the running server's SIGTERM and SIGINT handlers in one :class:`_StagedShutdown`.

    Call it on the server's event loop after the server installed its handlers (uvicorn restores its own
    originals when it stops, which removes these wrappers too).
    """
    loop = asyncio.get_running_loop()
    stops: dict[int, SignalHandler] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        if callable(previous := signal.getsignal(sig)):
            stops[sig] = previous
    shutdown = _StagedShutdown(loop, stops, delay_seconds, shutting_down)
    for wrapped in stops:
        signal.signal(wrapped, shutdown)


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


def run_server(config: ServeConfig) -> None:
    """What ``uvicorn.run`` does with its own configuration: one server, a reloader or a worker supervisor."""
    server = uvicorn.Server(config)
    # before the server takes the signals over, and once it has handed them back (re-raising the one that
    # stopped it): a clean exit, not 143 or a KeyboardInterrupt
    exit_cleanly = _ExitCleanly()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, exit_cleanly)
    if config.should_reload:
        ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
    elif config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        server.run()
    if not server.started and not config.should_reload and config.workers == 1:
        sys.exit(STARTUP_FAILURE)


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
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)


def _default_drain_delay(settings: Settings) -> float:
    interactive = settings.environment in {Environment.DEVELOPMENT, Environment.TEST}
    return 0.0 if interactive else PRODUCTION_DRAIN_DELAY_SECONDS


def serve(
    host: str | None = typer.Option(None, help="Bind address (default: APIBASE_HOST)"),
    port: int | None = typer.Option(None, min=1, max=65535, help="Port (default: APIBASE_PORT)"),
    workers: int | None = typer.Option(None, min=1, max=64, help="Worker processes (default: APIBASE_WORKERS)"),
    reload: bool = typer.Option(False, help="Restart on code changes (development only; one worker)"),
    drain_delay: float | None = typer.Option(
        None,
        min=0,
        max=600,
        help="Seconds to keep serving after SIGTERM with readiness 503, before draining "
        f"(default: {PRODUCTION_DRAIN_DELAY_SECONDS:g}, 0 in development and test)",
    ),
) -> None:
    """Serve the API."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None
    if multiprocess_dir := os.environ.get(MULTIPROC_DIR_VARIABLE):
        prepare_multiprocess_dir(multiprocess_dir)  # metrics of earlier runs would be summed in otherwise
    config = ServeConfig(
        APP_FACTORY,
        drain_delay_seconds=_default_drain_delay(settings) if drain_delay is None else drain_delay,
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=None if reload else (workers or settings.workers),
        reload=reload,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        server_header=False,
        # The service logs every request itself (structured, one line); uvicorn's own set-up would replace it.
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        timeout_worker_healthcheck=settings.worker_healthcheck_timeout_seconds,
        ssl_certfile=settings.tls.cert_file,
        ssl_keyfile=settings.tls.key_file,
        ssl_ca_certs=settings.tls.ca_file,
        # without a CA requirement no client certificate is asked for (uvicorn's default)
        ssl_cert_reqs=ssl.CERT_REQUIRED if settings.tls.require_client_cert else ssl.CERT_NONE,
    )
    run_server(config)
