"""uvicorn, the default server: HTTP/1.1 on uvloop and httptools; one worker, ``--reload`` or ``--workers N``.

Why a :class:`ServeConfig` rather than a ``uvicorn.Server`` subclass: with ``--workers N`` uvicorn's supervisor
builds a plain ``Server`` in each worker, but the configuration travels to every worker, and each worker's
server loads it inside ``capture_signals()``, right after installing its own SIGTERM/SIGINT handlers. Loading
wraps those handlers (:func:`~apibase.interface.cli.servers.shutdown.drain_on_signal`), so one mechanism covers
one worker, ``--workers N`` and ``--reload`` alike. Under ``--workers N`` uvicorn's supervisor only queues what it
receives and sends each worker one SIGTERM, so each worker goes through stages 1 and 2 once.
"""

from __future__ import annotations

import ssl
import sys
import threading

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import ChangeReload, Multiprocess

from apibase.interface.cli.servers import ServerOptions
from apibase.interface.cli.servers.heap import FrozenStartupHeap
from apibase.interface.cli.servers.shutdown import drain_on_signal, exit_cleanly_on_signal

__all__ = ["ServeConfig", "run", "run_server", "serve_config"]


class ServeConfig(uvicorn.Config):
    """uvicorn's configuration plus the drain delay; loading it in a worker arms :func:`drain_on_signal`."""

    def __init__(self, app: str, *, drain_delay_seconds: float, freeze_heap: bool, **options: object) -> None:
        super().__init__(app, **options)  # type: ignore[arg-type]
        self.drain_delay_seconds = drain_delay_seconds
        self.freeze_heap = freeze_heap

    def load(self) -> None:
        super().load()
        if self.freeze_heap:
            self.loaded_app = FrozenStartupHeap(self.loaded_app)
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            drain_on_signal(self.drain_delay_seconds)


def serve_config(options: ServerOptions) -> ServeConfig:
    """uvicorn's configuration for ``options``."""
    return ServeConfig(
        options.app,
        drain_delay_seconds=options.drain_delay_seconds,
        freeze_heap=options.freeze_heap,
        factory=True,
        host=options.host,
        port=options.port,
        workers=None if options.reload else options.workers,
        reload=options.reload,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        server_header=False,
        # The service logs every request itself (structured, one line); uvicorn's own set-up would replace it.
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=options.grace_seconds,
        timeout_worker_healthcheck=options.worker_healthcheck_timeout_seconds,
        ssl_certfile=options.tls.cert_file,
        ssl_keyfile=options.tls.key_file,
        ssl_ca_certs=options.tls.ca_file,
        # without a CA requirement no client certificate is asked for (uvicorn's default)
        ssl_cert_reqs=ssl.CERT_REQUIRED if options.tls.require_client_cert else ssl.CERT_NONE,
    )


def run(options: ServerOptions) -> None:
    """Serve with uvicorn until stopped."""
    run_server(serve_config(options))


def run_server(config: ServeConfig) -> None:
    """What ``uvicorn.run`` does with its own configuration: one server, a reloader or a worker supervisor."""
    server = uvicorn.Server(config)
    # before the server takes the signals over, and once it has handed them back (re-raising the one that
    # stopped it): a clean exit, not 143 or a KeyboardInterrupt
    exit_cleanly_on_signal()
    if config.should_reload:
        ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
    elif config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        server.run()
    if not server.started and not config.should_reload and config.workers == 1:
        sys.exit(STARTUP_FAILURE)
