"""A watch stream read on a thread of its own, handed to the event loop one event at a time.

The official client is synchronous. A watch blocks on its socket for minutes, so it must not sit in the
default executor, whose few threads serve every other request of the operator: each stream gets a dedicated
daemon thread, and closing the iterator shuts the socket down, which ends the thread's blocking read at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncGenerator, Iterator
from http import HTTPStatus
from typing import cast

from kubernetes.client import ApiClient
from urllib3 import HTTPResponse

__all__ = ["StreamError", "watch_events"]

_CHUNK = 64 * 1024
_CONNECT_SECONDS = 10.0
#: The end of the stream, as the thread tells the loop.
_END = object()


class StreamError(Exception):
    """The API server refused the watch; ``status`` is its HTTP status (410: the resourceVersion is too old)."""

    def __init__(self, status: int, path: str, body: str) -> None:
        super().__init__(f"GET {path} (watch) answered {status}: {body[:300]}")
        self.status = status


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Newline-delimited JSON split across chunks in any way, as the API server's chunked encoding does."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from (line for line in complete if line.strip())
    if buffer.strip():
        yield buffer


def _chunks(status: int, path: str, raw: HTTPResponse) -> Iterator[bytes]:
    """The body as it arrives (``read1``: what is there, without waiting to fill a buffer); a refusal raises."""
    if status >= HTTPStatus.BAD_REQUEST:
        raise StreamError(status, path, raw.read().decode(errors="replace"))
    return iter(lambda: raw.read1(_CHUNK), b"")


async def watch_events(api: ApiClient, path: str, read_timeout_seconds: float) -> AsyncGenerator[dict[str, object]]:
    """The events of the watch at ``path`` (with its query) until the server ends the stream.

    ``read_timeout_seconds`` bounds a silent connection (set it above the request's ``timeoutSeconds``).
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    closing = threading.Event()
    opened: list[HTTPResponse] = []

    def hand_over(item: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while the thread was reading
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def read() -> None:
        try:
            url = api.configuration.host.rstrip("/") + path
            response = api.call_api(
                "GET",
                url,
                header_params={"Accept": "application/json"},
                _request_timeout=(_CONNECT_SECONDS, read_timeout_seconds),
            )
            raw = response.response
            opened.append(raw)
            if not closing.is_set():
                for line in _lines(_chunks(response.status, path, raw)):
                    hand_over(json.loads(line))
        except BaseException as error:  # every failure is the consumer's to handle
            if not closing.is_set():
                hand_over(error)
        finally:
            hand_over(_END)
            for raw in opened:  # a stream cut short is closed, one the server ended goes back to the pool
                if closing.is_set():
                    raw.close()
                else:
                    raw.release_conn()

    threading.Thread(target=read, name=f"watch {path.split('?', maxsplit=1)[0]}", daemon=True).start()
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield cast("dict[str, object]", item)
    finally:
        closing.set()
        for raw in opened:
            with contextlib.suppress(Exception):
                raw.shutdown()
