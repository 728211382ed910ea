"""When each ApiBase is reconciled next: when its last reconciliation asked to be, or at once after a change.

A reconciliation says when it wants to run again (``ReconcileResult.requeue_after_seconds``: the rest of a canary
step, of a Vault refresh interval, at most the resync interval). kopf's timers tick at a fixed interval and would
leave a canary step or a Vault refresh waiting for the next tick, up to a whole interval late; so one kopf daemon
per ApiBase runs :meth:`Schedule.run` instead: reconcile, sleep until the time asked for, repeat. A change (the
spec, an owned object) calls :meth:`Schedule.wake`, which cuts the sleep short. One loop per ApiBase also means
that its reconciliations never overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

__all__ = ["Schedule"]


class Schedule:
    """The wake-up call of every ApiBase whose loop runs in this operator, by namespace and name."""

    def __init__(self) -> None:
        self._wakeups: dict[tuple[str, str], asyncio.Event] = {}

    def wake(self, namespace: str, name: str) -> bool:
        """Reconcile this ApiBase now, or right after the reconciliation in progress; False when no loop runs it."""
        wakeup = self._wakeups.get((namespace, name))
        if wakeup is None:
            return False
        wakeup.set()
        return True

    async def run(self, namespace: str, name: str, reconcile: Callable[[], Awaitable[float | None]]) -> None:
        """Reconcile, then sleep for the seconds it returned or until woken; until it returns None or is cancelled.

        A wake-up during a reconciliation is kept, so a change that the running reconciliation may have missed
        gets one of its own. An exception ends the loop (kopf restarts the daemon after its backoff).
        """
        key = (namespace, name)
        wakeup = asyncio.Event()
        self._wakeups[key] = wakeup
        loop = asyncio.get_running_loop()
        try:
            while True:
                wakeup.clear()
                started = loop.time()
                delay = await reconcile()
                if delay is None:
                    return
                # Counted from the start: the delay is from the reconciliation's clock reading, not its end.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=max(started + delay - loop.time(), 0.0))
        finally:
            if self._wakeups.get(key) is wakeup:
                del self._wakeups[key]
