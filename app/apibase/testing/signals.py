"""Signal handlers re-entered at every call they make, under a watchdog: a burst's worst timing, on demand.

Python runs a signal handler in the main thread between two bytecodes, so a burst can start it again inside
itself, also while it holds a lock; how often a real burst hits that moment depends on the machine's load. These
helpers make it happen at every call, and turn a deadlock into a failure instead of a hung test.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["run_reentered_at_every_call", "watchdog"]


@contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Break a deadlocked main thread: a blocked lock acquisition returns to run this signal's handler."""

    def expire(sig: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"still blocked after {seconds}s: deadlocked")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_reentered_at_every_call(handler: Callable[[int, FrameType | None], object], sig: int) -> int:
    """Run a signal handler and run it again at each call it makes, as a signal arriving right then would.

    A profile hook reaches each call inside it (the hook's own calls are not profiled, so a re-entered run is not
    re-entered again). Returns how many times it was re-entered.
    """
    reentries = 0

    def reenter(frame: FrameType, event: str, arg: object) -> None:
        nonlocal reentries
        if event in {"call", "c_call"}:
            reentries += 1
            handler(sig, None)

    sys.setprofile(reenter)
    try:
        handler(sig, None)
    finally:
        sys.setprofile(None)
    return reentries
