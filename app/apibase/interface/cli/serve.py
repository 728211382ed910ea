"""``apibase serve``: the service on uvicorn (default), granian or hypercorn, defaults from the ``APIBASE_*`` settings.

``--server`` (``APIBASE_SERVER``) picks the server; each is an adapter under :mod:`apibase.interface.cli.servers`:
uvicorn serves HTTP/1.1 on uvloop and httptools; granian is the fastest and adds HTTP/2 (over TLS by ALPN, and
h2c in the clear); hypercorn adds HTTP/2 the same ways and HTTP/3 over QUIC (``APIBASE_HTTP3_PORT``, with TLS).

With ``APIBASE_TLS__CERT_FILE``/``KEY_FILE`` it serves HTTPS itself (no proxy in front); adding ``CA_FILE`` and
``REQUIRE_CLIENT_CERT=true`` makes it mutual TLS: the handshake fails for a client without a certificate signed
by that CA, before any request reaches the application.

Graceful shutdown runs in stages in each worker process, whichever the server
(:mod:`apibase.interface.cli.servers.shutdown`): the first SIGTERM turns readiness 503 and the server keeps
serving for ``--drain-delay`` seconds; then, or at once on a second signal (or a first SIGINT), it stops accepting
and drains in-flight requests for up to ``APIBASE_SHUTDOWN_GRACE_SECONDS``; a signal during that drain stops the
wait. However many signals arrive, the command exits 0. Under ``--workers N`` the supervisor sends each worker one
SIGTERM, so each worker goes through the first two stages once.
"""

from __future__ import annotations

import os
from typing import Final

import typer

from apibase.core.settings import Environment, ServerKind, Settings, SettingsError, load_settings
from apibase.infrastructure.observability.metrics import MULTIPROC_DIR_VARIABLE, prepare_multiprocess_dir
from apibase.interface.cli import servers
from apibase.interface.cli.servers import ServerOptions, ServerUnavailableError

__all__ = ["APP_FACTORY", "PRODUCTION_DRAIN_DELAY_SECONDS", "serve", "server_options"]

#: The configured service's app factory, imported by the server in each worker.
APP_FACTORY = "apibase.service:create_service_app"

#: The default ``--drain-delay`` outside development and tests: longer than a readiness probe period plus the
#: time endpoint controllers and proxies take to stop routing; keep it + the grace below the pod's grace period.
PRODUCTION_DRAIN_DELAY_SECONDS: Final = 5.0


def _default_drain_delay(settings: Settings) -> float:
    interactive = settings.environment in {Environment.DEVELOPMENT, Environment.TEST}
    return 0.0 if interactive else PRODUCTION_DRAIN_DELAY_SECONDS


def server_options(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    reload: bool = False,
    drain_delay: float | None = None,
) -> ServerOptions:
    """What the server serves: the settings, with the command line's options winning."""
    return ServerOptions(
        app=APP_FACTORY,
        host=host or settings.host,
        port=port or settings.port,
        workers=1 if reload else (workers or settings.workers),
        reload=reload,
        drain_delay_seconds=_default_drain_delay(settings) if drain_delay is None else drain_delay,
        grace_seconds=settings.shutdown_grace_seconds,
        worker_healthcheck_timeout_seconds=settings.worker_healthcheck_timeout_seconds,
        tls=settings.tls,
        http3_port=settings.http3_port,
        freeze_heap=settings.gc_freeze,
    )


def _refusal(server: ServerKind, options: ServerOptions) -> str | None:
    """Why ``server`` cannot serve ``options``, if it cannot."""
    if options.http3_port is not None and (server is not ServerKind.HYPERCORN or options.certificate is None):
        return "APIBASE_HTTP3_PORT needs --server hypercorn and TLS (APIBASE_TLS__CERT_FILE and KEY_FILE)"
    if options.reload and server is not ServerKind.UVICORN:
        return "--reload runs under uvicorn (development)"
    return None


def serve(
    host: str | None = typer.Option(None, help="Bind address (default: APIBASE_HOST)"),
    port: int | None = typer.Option(None, min=1, max=65535, help="Port (default: APIBASE_PORT)"),
    workers: int | None = typer.Option(None, min=1, max=64, help="Worker processes (default: APIBASE_WORKERS)"),
    reload: bool = typer.Option(False, help="Restart on code changes (development only; one worker; uvicorn)"),
    drain_delay: float | None = typer.Option(
        None,
        min=0,
        max=600,
        help="Seconds to keep serving after SIGTERM with readiness 503, before draining "
        f"(default: {PRODUCTION_DRAIN_DELAY_SECONDS:g}, 0 in development and test)",
    ),
    server: ServerKind | None = typer.Option(  # noqa: B008 - typer's way, as above (an enum is not known immutable)
        None,
        help="HTTP server: uvicorn (HTTP/1.1), granian (fastest; HTTP/2), hypercorn (HTTP/2, HTTP/3) "
        "(default: APIBASE_SERVER, else uvicorn)",
    ),
) -> None:
    """Serve the API."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None
    chosen = server or settings.server
    options = server_options(settings, host=host, port=port, workers=workers, reload=reload, drain_delay=drain_delay)
    if refusal := _refusal(chosen, options):
        typer.echo(refusal, err=True)
        raise typer.Exit(code=2)
    if multiprocess_dir := os.environ.get(MULTIPROC_DIR_VARIABLE):
        prepare_multiprocess_dir(multiprocess_dir)  # metrics of earlier runs would be summed in otherwise
    try:
        servers.run(chosen, options)
    except ServerUnavailableError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None
