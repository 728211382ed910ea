"""The event a signal handler may set: never blocks, never loses a wake-up (a real supervisor: test_granian.py)."""

from __future__ import annotations

import select
import signal
import threading

import pytest

from apibase.interface.cli.servers.wakeup import WakeUpEvent
from apibase.testing.signals import run_reentered_at_every_call, watchdog

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("event", [threading.Event(), WakeUpEvent()], ids=["threading", "wake-up"])
def test_a_handler_that_sets_it_may_be_re_entered_anywhere_where_a_threading_event_deadlocks(
    event: threading.Event,
) -> None:
    def handler(sig: int, frame: object) -> None:
        event.set()

    if isinstance(event, WakeUpEvent):
        with watchdog(2.0):
            assert run_reentered_at_every_call(handler, signal.SIGTERM) >= 2
        assert event.wait()
    else:  # re-entered while its first run holds the condition's lock: what hung granian's supervisor
        with pytest.raises(TimeoutError, match="deadlocked"), watchdog(0.5):
            run_reentered_at_every_call(handler, signal.SIGTERM)


def test_a_set_from_another_thread_wakes_the_waiting_one() -> None:
    event = WakeUpEvent()
    setter = threading.Thread(target=event.set)
    setter.start()
    with watchdog(5.0):
        assert event.wait()
    setter.join()


def test_cleared_it_waits_out_its_timeout_and_its_pipe_is_readable_only_while_set() -> None:
    event = WakeUpEvent()
    event.set()
    event.set()  # one wake-up or several: the same
    assert select.select([event.fileno()], [], [], 0)[0] == [event.fileno()]
    assert event.is_set()
    event.clear()
    assert select.select([event.fileno()], [], [], 0)[0] == []
    assert not event.wait(0.01)
    assert not event.is_set()
