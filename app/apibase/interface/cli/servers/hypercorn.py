"""hypercorn: HTTP/1.1, HTTP/2 (ALPN over TLS, h2c in the clear) and, with ``APIBASE_HTTP3_PORT``, HTTP/3 over QUIC.

With TLS and an HTTP/3 port, hypercorn also listens on that UDP port and adds ``Alt-Svc: h3=":<port>"`` to its
HTTP/1.1 and HTTP/2 answers, so a browser moves to HTTP/3 on its next requests. Each worker runs hypercorn's
``worker_serve`` on uvloop with a shutdown trigger the staged stop sets (:func:`stage_stop_signals`); in-flight
requests then get ``graceful_timeout`` (the grace) before hypercorn cancels them. ``--workers N`` runs N such
processes on the same sockets (bound once, here) under :func:`_supervise`, which sends each worker one SIGTERM,
as uvicorn's supervisor does; its signal handler only sets an event (signalling the workers from the handler
left those started after a signal unsignalled, and the supervisor waiting for them for ever).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import ssl
import sys
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import cast

import uvloop
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.typing import ASGIFramework
from hypercorn.utils import wrap_app

from apibase.interface.cli.servers import ServerOptions, service_app
from apibase.interface.cli.servers.shutdown import STOP_SIGNALS, exit_cleanly_on_signal, stage_stop_signals
from apibase.interface.cli.servers.wakeup import WakeUpEvent

__all__ = ["hypercorn_config", "run"]


def hypercorn_config(options: ServerOptions) -> Config:
    """hypercorn's configuration for ``options`` (its own access log and ``server`` header off)."""
    config = Config()
    config.bind = [_address(options.host, options.port)]
    if certificate := options.certificate:
        config.certfile, config.keyfile = (str(path) for path in certificate)
        config.ca_certs = str(options.tls.ca_file) if options.tls.ca_file else None
        config.verify_mode = ssl.CERT_REQUIRED if options.tls.require_client_cert else ssl.CERT_NONE
        if options.http3_port is not None:
            config.quic_bind = [_address(options.host, options.http3_port)]
    config.graceful_timeout = options.grace_seconds
    config.include_server_header = False
    config.accesslog = None  # the service logs every request itself
    config.errorlog = logging.getLogger("hypercorn.error")  # through the service's logging, not a handler of its own
    config.workers = options.workers
    return config


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def run(options: ServerOptions) -> None:
    """Serve with hypercorn until stopped."""
    exit_cleanly_on_signal()
    config = hypercorn_config(options)
    sockets = config.create_sockets()  # once, here: every worker serves the same ones
    if options.workers == 1:
        serve_worker(options, config, sockets)
    else:
        _supervise(options, config, sockets)


def serve_worker(options: ServerOptions, config: Config, sockets: Sockets) -> None:
    """One worker: the app, served on uvloop until the staged stop triggers hypercorn's shutdown."""
    exit_cleanly_on_signal()
    app = wrap_app(
        cast("ASGIFramework", service_app(options.app, freeze_heap=options.freeze_heap)),
        config.wsgi_max_body_size,
        "asgi",
    )

    async def serve() -> None:
        stopped = asyncio.Event()
        stage_stop_signals(asyncio.get_running_loop(), stopped.set, options.drain_delay_seconds)
        waking: list[asyncio.Task[None]] = []

        async def stop_requested() -> None:
            await stopped.wait()
            waking.append(asyncio.create_task(_wake_quic(sockets.quic_sockets)))

        try:
            await worker_serve(app, config, sockets=sockets, shutdown_trigger=stop_requested)
        finally:
            exit_cleanly_on_signal()  # the loop closes after this: no more stages to queue on it

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve())


async def _wake_quic(quic_sockets: list[socket.socket]) -> None:
    """Empty datagrams to hypercorn's QUIC sockets until the worker ends (the runner cancels this).

    hypercorn's QUIC server looks at its shutdown only when a datagram arrives, so an idle one would keep the
    worker for the whole grace; it drops an empty datagram (no QUIC header) at once.
    """
    while quic_sockets:
        for quic in quic_sockets:
            with contextlib.suppress(OSError):
                quic.sendto(b"", quic.getsockname())
        await asyncio.sleep(0.1)


def _supervise(options: ServerOptions, config: Config, sockets: Sockets) -> None:
    """Start the workers; on the first stop signal (or when one exits) send each one SIGTERM, then wait for all.

    The handler only sets an event that takes no lock; this thread signals the workers, each once, also those it
    started after the signal arrived (it starts no more once it did).
    """
    context = multiprocessing.get_context("spawn")
    workers: list[BaseProcess] = []
    stop_requested = WakeUpEvent()

    def request_stop(sig: int, frame: FrameType | None) -> None:
        stop_requested.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, request_stop)
    for number in range(options.workers):
        if stop_requested.is_set():
            break
        # daemonic: should this process exit first, multiprocessing stops them on its way out
        worker: BaseProcess = context.Process(
            target=serve_worker, args=(options, config, sockets), name=f"hypercorn-worker-{number + 1}", daemon=True
        )
        worker.start()
        workers.append(worker)
    wait([stop_requested.fileno(), *(worker.sentinel for worker in workers)])
    failed = not stop_requested.is_set()
    for worker in workers:
        if worker.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.join()
    exit_cleanly_on_signal()
    if failed:
        sys.exit(1)
