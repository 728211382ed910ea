"""``apibase serve``: uvicorn with uvloop and httptools, defaults from the ``APIBASE_*`` settings.

With ``APIBASE_TLS__CERT_FILE``/``KEY_FILE`` it serves HTTPS itself (no proxy in front); adding ``CA_FILE`` and
``REQUIRE_CLIENT_CERT=true`` makes it mutual TLS: the handshake fails for a client without a certificate signed
by that CA, before any request reaches the application.

Graceful shutdown, in each worker process: on SIGTERM readiness answers 503 at once (the process-wide
``SHUTTING_DOWN`` event of :mod:`app.interface.http.health`), the server keeps serving for ``--drain-delay``
seconds (Kubernetes sends SIGTERM while endpoints may still route to the pod for a moment), then stops
accepting and lets in-flight requests finish for up to ``APIBASE_SHUTDOWN_GRACE_SECONDS`` before the
application's shutdown closes its pools. SIGINT (Ctrl+C) skips the delay; a second signal ends the delay early.
Stopped by a signal, the command exits 0.

Why a :class:`ServeConfig` rather than a ``uvicorn.Server`` subclass: with ``--workers N`` uvicorn's supervisor
builds a plain ``Server`` in each worker, but the configuration travels to every worker, and each worker's
server loads it inside ``capture_signals()``, right after installing its own SIGTERM/SIGINT handlers. Loading
wraps those handlers, so one mechanism covers one worker, ``--workers N`` and ``--reload`` alike.
"""

from __future__ import annotations

import asyncio
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

from app.core.settings import Environment, Settings, SettingsError, load_settings
from app.infrastructure.observability.metrics import MULTIPROC_DIR_VARIABLE, prepare_multiprocess_dir
from app.interface.http.health import SHUTTING_DOWN

__all__ = [
    "APP_FACTORY",
    "PRODUCTION_DRAIN_DELAY_SECONDS",
    "ServeConfig",
    "drain_on_signal",
    "run_server",
    "serve",
]

logger = logging.getLogger(__name__)

#: The composition root, imported by uvicorn in each worker (``factory=True`` calls it).
APP_FACTORY = "app.main:create_app"

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
    """Wrap the running server's SIGTERM and SIGINT handlers: mark the process draining first, stop it later.

    Call it on the server's event loop after the server installed its handlers (uvicorn restores its own
    originals when it stops, which removes these wrappers too).
    """
    loop = asyncio.get_running_loop()
    for sig, delay in ((signal.SIGTERM, delay_seconds), (signal.SIGINT, 0.0)):
        previous = signal.getsignal(sig)
        if callable(previous):
            signal.signal(sig, _DrainThenStop(loop, previous, delay, shutting_down))


class _DrainThenStop:
    """The signal handler: readiness off at once, the server's own handler after the delay (or a second signal)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        stop: SignalHandler,
        delay_seconds: float,
        shutting_down: threading.Event,
    ) -> None:
        self._loop = loop
        self._stop = stop
        self._delay = delay_seconds
        self._shutting_down = shutting_down
        self._timer: asyncio.TimerHandle | None = None
        self._stopping = False

    def __call__(self, sig: int, frame: FrameType | None) -> None:
        self._shutting_down.set()
        # a signal handler may interrupt the loop anywhere: only the thread-safe call is safe to make here
        self._loop.call_soon_threadsafe(self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        if not self._stopping and self._timer is None and self._delay > 0:
            logger.warning(
                "%s received: readiness is off; serving for %ss more before draining",
                signal.Signals(sig).name,
                self._delay,
            )
            self._timer = self._loop.call_later(self._delay, self._forward, sig)
            return
        if self._timer is not None:
            self._timer.cancel()
        self._forward(sig)

    def _forward(self, sig: int) -> None:
        self._timer = None
        self._stopping = True
        self._stop(sig, None)


def run_server(config: ServeConfig) -> None:
    """What ``uvicorn.run`` does with its own configuration: one server, a reloader or a worker supervisor."""
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down: make that a clean exit, not 143
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        if config.should_reload:
            ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
        elif config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if not server.started and not config.should_reload and config.workers == 1:
        sys.exit(STARTUP_FAILURE)


def _exit_cleanly(sig: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


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
        ssl_certfile=settings.tls.cert_file,
        ssl_keyfile=settings.tls.key_file,
        ssl_ca_certs=settings.tls.ca_file,
        # without a CA requirement no client certificate is asked for (uvicorn's default)
        ssl_cert_reqs=ssl.CERT_REQUIRED if settings.tls.require_client_cert else ssl.CERT_NONE,
    )
    run_server(config)
