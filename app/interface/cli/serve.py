"""``apibase serve``: uvicorn with uvloop and httptools, defaults from the ``APIBASE_*`` settings.

With ``APIBASE_TLS__CERT_FILE``/``KEY_FILE`` it serves HTTPS itself (no proxy in front); adding ``CA_FILE`` and
``REQUIRE_CLIENT_CERT=true`` makes it mutual TLS: the handshake fails for a client without a certificate signed
by that CA, before any request reaches the application.
"""

from __future__ import annotations

import ssl

import typer
import uvicorn

from app.core.settings import SettingsError, load_settings

__all__ = ["APP_FACTORY", "serve"]

#: The composition root, imported by uvicorn in each worker (``factory=True`` calls it).
APP_FACTORY = "app.main:create_app"


def serve(
    host: str | None = typer.Option(None, help="Bind address (default: APIBASE_HOST)"),
    port: int | None = typer.Option(None, min=1, max=65535, help="Port (default: APIBASE_PORT)"),
    workers: int | None = typer.Option(None, min=1, max=64, help="Worker processes (default: APIBASE_WORKERS)"),
    reload: bool = typer.Option(False, help="Restart on code changes (development only; one worker)"),
) -> None:
    """Serve the API."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=None if reload else (workers or settings.workers),
        reload=reload,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        ssl_certfile=settings.tls.cert_file,
        ssl_keyfile=settings.tls.key_file,
        ssl_ca_certs=settings.tls.ca_file,
        # without a CA requirement no client certificate is asked for (uvicorn's default)
        ssl_cert_reqs=ssl.CERT_REQUIRED if settings.tls.require_client_cert else ssl.CERT_NONE,
    )
