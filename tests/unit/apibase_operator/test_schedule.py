"""The per-ApiBase loop: reconcile, sleep as long as the reconciliation asked, wake early on a change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from apibase_operator.schedule import Schedule

pytestmark = pytest.mark.unit

NS, NAME = "shop", "orders"


class Reconciles:
    """A fake reconciliation: records when it ran and returns the next requeue delay from a script."""

    def __init__(self, delays: list[float | None], takes: float = 0.0) -> None:
        self.delays = delays
        self.takes = takes
        self.times: list[float] = []
        self.ran = asyncio.Event()
        self.during: Callable[[], None] | None = None

    async def __call__(self) -> float | None:
        self.times.append(asyncio.get_running_loop().time())
        if self.during is not None:
            self.during()
            self.during = None
        self.ran.set()
        await asyncio.sleep(self.takes)  # the reconciliation's own duration
        return self.delays.pop(0) if self.delays else None

    async def runs(self, count: int) -> None:
        """Wait until it has run ``count`` times in all."""
        while len(self.times) < count:
            self.ran.clear()
            await asyncio.wait_for(self.ran.wait(), timeout=5)


async def test_each_run_comes_when_the_previous_one_asked() -> None:
    reconcile = Reconciles([0.2, 0.1, None])

    await asyncio.wait_for(Schedule().run(NS, NAME, reconcile), timeout=5)

    first, second, third = reconcile.times
    assert 0.2 <= second - first < 0.7  # generous upper bounds: a busy machine delays the event loop
    assert 0.1 <= third - second < 0.6


async def test_the_delay_counts_from_the_start_of_the_reconciliation() -> None:
    reconcile = Reconciles([0.6, None], takes=0.5)

    await asyncio.wait_for(Schedule().run(NS, NAME, reconcile), timeout=5)

    first, second = reconcile.times
    assert 0.6 <= second - first < 1.0  # not 1.1: the step's clock started when the reconciliation did


async def test_a_wake_up_cuts_the_sleep_short() -> None:
    schedule, reconcile = Schedule(), Reconciles([60.0, 60.0])
    loop = asyncio.create_task(schedule.run(NS, NAME, reconcile))
    await reconcile.runs(1)

    assert schedule.wake(NS, NAME)
    await reconcile.runs(2)

    assert reconcile.times[1] - reconcile.times[0] < 1
    loop.cancel()


async def test_a_wake_up_during_a_reconciliation_gets_a_run_of_its_own() -> None:
    schedule, reconcile = Schedule(), Reconciles([60.0, 60.0])
    reconcile.during = lambda: schedule.wake(NS, NAME)
    loop = asyncio.create_task(schedule.run(NS, NAME, reconcile))

    await reconcile.runs(2)

    assert reconcile.times[1] - reconcile.times[0] < 1
    loop.cancel()


async def test_other_apibases_sleep_on() -> None:
    schedule, woken, other = Schedule(), Reconciles([60.0, 60.0]), Reconciles([60.0])
    loops = [
        asyncio.create_task(schedule.run(NS, NAME, woken)),
        asyncio.create_task(schedule.run(NS, "billing", other)),
    ]
    await woken.runs(1)
    await other.runs(1)

    schedule.wake(NS, NAME)
    await woken.runs(2)

    assert len(other.times) == 1
    for loop in loops:
        loop.cancel()


async def test_a_loop_that_ended_is_not_woken() -> None:
    schedule = Schedule()
    assert not schedule.wake(NS, NAME)

    await schedule.run(NS, NAME, Reconciles([None]))
    assert not schedule.wake(NS, NAME)

    loop = asyncio.create_task(schedule.run(NS, NAME, Reconciles([60.0])))
    await asyncio.sleep(0)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert not schedule.wake(NS, NAME)
