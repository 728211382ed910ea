"""Supervisor: crashes are logged and restarted with capped, jittered backoff, fatal ones escalate, stop() is clean."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Callable

import pytest

from apibase.infrastructure.background import Supervisor

pytestmark = pytest.mark.unit

LOGGER = "apibase.infrastructure.background"


class _Jitter(random.Random):
    """Always the largest (or smallest) jitter, so backoff delays are exact."""

    def __init__(self, *, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


async def _eventually(condition: Callable[[], bool]) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.001)
    pytest.fail("the condition did not become true in time")


async def test_a_crash_is_logged_with_the_task_name_and_restarted_with_doubling_capped_delays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    starts: list[float] = []
    forever = asyncio.Event()

    async def flaky() -> None:
        starts.append(loop.time())
        if len(starts) <= 4:
            raise ConnectionError(f"down #{len(starts)}")
        await forever.wait()

    supervisor = Supervisor(rng=_Jitter(high=True))
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        supervisor.spawn("poller", flaky, initial_backoff=0.01, max_backoff=0.03)
        await _eventually(lambda: len(starts) == 5)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    for gap, expected in zip(gaps, [0.01, 0.02, 0.03, 0.03], strict=True):
        assert expected * 0.95 <= gap < expected + 0.05
    assert supervisor.restarts == {"poller": 4}
    assert supervisor.running == {"poller"}
    failures = [record for record in caplog.records if record.name == LOGGER]
    assert len(failures) == 4
    assert all("poller" in record.getMessage() and record.exc_info for record in failures)
    assert isinstance(failures[0].exc_info[1], ConnectionError)
    assert await supervisor.stop(grace_seconds=1.0)


async def test_jitter_keeps_at_least_half_the_step() -> None:
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def failing() -> None:
        starts.append(loop.time())
        raise RuntimeError("bug")

    supervisor = Supervisor(rng=_Jitter(high=False))
    supervisor.spawn("low", failing, initial_backoff=0.04, max_backoff=0.04)
    await _eventually(lambda: len(starts) == 3)
    await supervisor.stop()
    assert all(later - earlier >= 0.019 for earlier, later in itertools.pairwise(starts))


async def test_a_run_longer_than_the_cap_starts_the_backoff_over() -> None:
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def fails_fast_then_slow() -> None:
        starts.append(loop.time())
        if len(starts) == 4:
            await asyncio.sleep(0.1)  # a healthy run longer than max_backoff
        if len(starts) <= 4:
            raise RuntimeError("again")
        await asyncio.Event().wait()

    supervisor = Supervisor(rng=_Jitter(high=True))
    supervisor.spawn("recovering", fails_fast_then_slow, initial_backoff=0.01, max_backoff=0.08)
    await _eventually(lambda: len(starts) == 5)
    await supervisor.stop()
    # Without the reset the fifth start would wait 0.08 s after the fourth run ended.
    assert starts[4] - starts[3] - 0.1 < 0.05


async def test_a_task_that_returns_is_finished_not_restarted() -> None:
    calls = 0

    async def once() -> None:
        nonlocal calls
        calls += 1

    supervisor = Supervisor()
    task = supervisor.spawn("once", once)
    await task
    assert calls == 1
    assert supervisor.running == frozenset()
    assert supervisor.restarts == {}


async def test_a_fatal_failure_calls_the_handler_sets_failed_and_is_not_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[tuple[str, BaseException]] = []
    calls = 0

    async def essential() -> None:
        nonlocal calls
        calls += 1
        raise OSError("disk gone")

    supervisor = Supervisor(on_fatal=lambda name, exc: seen.append((name, exc)))
    with caplog.at_level(logging.CRITICAL, logger=LOGGER):
        await supervisor.spawn("essential", essential, restart=False)
    assert calls == 1
    assert supervisor.failed.is_set()
    assert [name for name, _ in seen] == ["essential"]
    assert isinstance(seen[0][1], OSError)
    assert supervisor.failure is not None
    assert supervisor.failure[0] == "essential"
    assert supervisor.running == frozenset()
    (record,) = [record for record in caplog.records if record.name == LOGGER]
    assert record.levelno == logging.CRITICAL
    assert "essential" in record.getMessage()


async def test_a_fatal_handler_that_raises_is_logged_not_propagated(caplog: pytest.LogCaptureFixture) -> None:
    def broken_handler(name: str, exc: BaseException) -> None:
        raise RuntimeError("handler bug")

    async def essential() -> None:
        raise ValueError("boom")

    supervisor = Supervisor(on_fatal=broken_handler)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        await supervisor.spawn("essential", essential, restart=False)
    assert supervisor.failed.is_set()
    assert any("fatal-failure handler" in record.getMessage() for record in caplog.records)


async def test_stop_cancels_running_and_backing_off_tasks_and_leaves_nothing_pending() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    async def crashing() -> None:
        raise RuntimeError("crash")

    supervisor = Supervisor()
    tasks = [
        supervisor.spawn("a", forever),
        supervisor.spawn("b", crashing, initial_backoff=10.0, max_backoff=10.0),  # waits 5-10 s to restart
    ]
    await started.wait()
    await asyncio.sleep(0)
    assert await supervisor.stop(grace_seconds=1.0)
    assert all(task.done() and task.cancelled() for task in tasks)
    assert supervisor.running == frozenset()
    with pytest.raises(RuntimeError, match="stopped"):
        supervisor.spawn("late", forever)


async def test_stop_is_bounded_when_a_task_ignores_cancellation(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await release.wait()  # swallows the cancellation until released

    supervisor = Supervisor()
    task = supervisor.spawn("stubborn", stubborn)
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert not await supervisor.stop(grace_seconds=0.05)
    assert any("supervised:stubborn" in record.getMessage() for record in caplog.records)
    release.set()
    await task


async def test_names_are_unique_and_backoff_must_be_sane() -> None:
    supervisor = Supervisor()
    supervisor.spawn("one", asyncio.Event().wait)
    with pytest.raises(ValueError, match="already running"):
        supervisor.spawn("one", asyncio.Event().wait)
    with pytest.raises(ValueError, match="backoff"):
        supervisor.spawn("two", asyncio.Event().wait, initial_backoff=2.0, max_backoff=1.0)
    assert await supervisor.stop()
