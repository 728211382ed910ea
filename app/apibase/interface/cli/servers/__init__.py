"""The servers ``apibase serve`` runs the service on, behind one shape: :class:`ServerOptions` in, :func:`run`.

Each adapter module (``uvicorn``, ``granian``, ``hypercorn``) has a ``run(options)`` that serves until stopped,
arms the staged shutdown of :mod:`.shutdown` in every worker process and returns once the server stopped.
granian and hypercorn are optional extras (``apibase[granian]``, ``apibase[http3]``): their adapters are imported
only when selected, so the service runs without them.

What each brings: uvicorn (the default) HTTP/1.1 on uvloop and httptools; granian (a Rust HTTP stack) speed,
HTTP/2 over TLS (ALPN) and cleartext HTTP/2 (h2c, prior knowledge); hypercorn HTTP/2 the same ways and HTTP/3 over
QUIC on a UDP port it advertises with ``Alt-Svc`` on its HTTP/1.1 and HTTP/2 answers.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from starlette.types import ASGIApp
from uvicorn.importer import import_from_string
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from apibase.core.settings import ServerKind, TlsSettings
from apibase.interface.cli.servers.heap import FrozenStartupHeap

__all__ = ["ServerOptions", "ServerUnavailableError", "run", "service_app"]

#: The extra that installs each optional server (``pip install 'apibase[<extra>]'``).
EXTRAS = {ServerKind.GRANIAN: "granian", ServerKind.HYPERCORN: "http3"}


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """What every adapter serves, and how it stops; picklable, since worker processes receive it."""

    app: str  # an app factory, ``module:callable``
    host: str
    port: int
    workers: int
    reload: bool
    drain_delay_seconds: float
    grace_seconds: int
    worker_healthcheck_timeout_seconds: int
    tls: TlsSettings
    http3_port: int | None = None
    #: :func:`~apibase.interface.cli.servers.heap.freeze_startup_heap` in each worker once the app has started.
    freeze_heap: bool = True

    @property
    def certificate(self) -> tuple[Path, Path] | None:
        """The certificate and key files when the server speaks TLS itself."""
        if self.tls.cert_file is None or self.tls.key_file is None:
            return None
        return self.tls.cert_file, self.tls.key_file


class ServerUnavailableError(RuntimeError):
    """The selected server's extra is not installed."""


def run(server: ServerKind, options: ServerOptions) -> None:
    """Serve with ``server`` until stopped."""
    try:
        adapter = importlib.import_module(f"{__name__}.{server.value}")
    except ModuleNotFoundError as exc:
        if exc.name != server.value:
            raise
        extra = EXTRAS[server]
        raise ServerUnavailableError(
            f"--server {server.value} needs its extra: pip install 'apibase[{extra}]' (or SERVICE_EXTRAS={extra})"
        ) from None
    adapter.run(options)


def service_app(factory: str, *, freeze_heap: bool) -> ASGIApp:
    """The app a worker serves under granian or hypercorn, with uvicorn's handling of proxy headers.

    uvicorn rewrites the client address from ``X-Forwarded-For`` when the peer is a trusted proxy (127.0.0.1 and ::1, or
    ``FORWARDED_ALLOW_IPS``); its middleware does the same under the other servers, so rate limits and audit see
    the same client whichever server runs.
    """
    app = import_from_string(factory)()
    if freeze_heap:
        app = FrozenStartupHeap(app)
    trusted = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
    return cast("ASGIApp", ProxyHeadersMiddleware(app, trusted_hosts=trusted))  # uvicorn's ASGI types: the same
