"""The stand-in's HTTP port, for the one call the SDK makes there: ``GET /v1.0/healthz/outbound``.

The SDK's client constructor probes it synchronously (``urllib``), which blocks the event loop it runs on; the
stand-in usually shares that loop, so this server runs in a thread of its own.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["HealthServer"]


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204 if self.path.startswith("/v1.0/healthz") else 404)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's parameter name
        """Quiet: a probe per client is noise in test output."""


class HealthServer:
    """Answers 204 on ``/v1.0/healthz`` and ``/v1.0/healthz/outbound`` at ``endpoint`` until ``stop``."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthz)
        # A short poll interval: ``shutdown`` waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), name="dapr-stand-in-healthz", daemon=True
        )

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # ``shutdown`` would wait forever for a loop that never ran
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
