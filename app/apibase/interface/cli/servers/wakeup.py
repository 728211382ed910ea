"""An event that a signal handler may set: a flag and a self-pipe, no lock.

``threading.Event.set`` takes its condition's lock. A Python signal handler runs in the main thread between two
bytecodes, also inside another run of itself; if that run holds the lock (inside ``set``, or inside ``wait`` as it
wakes up), the new run waits for it forever. granian's supervisor sets such an event from its SIGTERM handler while
its main thread waits on it, so a burst of SIGTERMs could hang it before it stopped a single worker. Setting this
event only stores a flag and writes one byte to a non-blocking pipe; ``wait`` sleeps in ``poll`` on the pipe.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time

__all__ = ["WakeUpEvent"]


class WakeUpEvent(threading.Event):
    """A ``threading.Event`` whose ``set`` takes no lock, for signal handlers; the pipe is :meth:`fileno`."""

    def __init__(self) -> None:
        super().__init__()
        self._flag = False
        self._read, self._write = os.pipe()
        for end in (self._read, self._write):
            os.set_blocking(end, False)

    def fileno(self) -> int:
        """The pipe's read end, readable once set: to wait for it together with other files."""
        return self._read

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        self._flag = True
        with contextlib.suppress(BlockingIOError):  # the pipe is full: a wake-up is pending anyway
            os.write(self._write, b"\0")

    def clear(self) -> None:
        self._flag = False
        self._drain()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        readable = select.poll()
        readable.register(self._read, select.POLLIN)
        while not self._flag:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            readable.poll(None if remaining is None else remaining * 1000)  # a signal's handler runs inside
            self._drain()
        return self._flag

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):  # empty
            while os.read(self._read, 512):
                pass
