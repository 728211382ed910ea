"""What the adapters' tests change in this process and must put back: the stop signals' handlers, granian's hook."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from granian import _signals

from apibase.interface.http.health import SHUTTING_DOWN


@pytest.fixture
def restored_signals() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    original = _signals.set_loop_signals
    yield
    _signals.set_loop_signals = original
    for sig, previous in saved.items():
        signal.signal(sig, previous)
    SHUTTING_DOWN.clear()
