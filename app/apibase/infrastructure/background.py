"""Supervised background tasks: no task of the process may die silently or outlive the application.

A bare ``asyncio.create_task`` loses its exception until garbage collection ("Task exception was never
retrieved") and, if nobody awaits it at shutdown, ends as "Task was destroyed but it is pending". Every
background loop (the log shipper's flush loop, pollers, consumers) is therefore started with
``Supervisor.spawn``, which

- logs a crash with the task's name and traceback, then restarts the task after a jittered exponential backoff
  (``restart=True``, for loops whose failure is transient: a dependency that is down comes back), or
- marks the supervisor failed and calls ``on_fatal`` (``restart=False``, for tasks the application cannot serve
  without: readiness should fail, or the process should exit and let the orchestrator restart it).

A task that *returns* is finished and not restarted (a loop returns when asked to stop). ``stop()`` cancels
every task and waits for all of them, within a bound.

Public API: ``Supervisor``, ``FatalHandler``, ``TaskFactory``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["FatalHandler", "Supervisor", "TaskFactory"]

type TaskFactory = Callable[[], Awaitable[None]]
#: Called with the task name and the exception when a ``restart=False`` task fails.
type FatalHandler = Callable[[str, BaseException], None]

logger: Final = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    factory: TaskFactory
    restart: bool
    initial_backoff: float
    max_backoff: float


class Supervisor:
    """Runs named background tasks, restarting or escalating their failures; ``stop()`` ends them all."""

    def __init__(
        self,
        *,
        on_fatal: FatalHandler | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._on_fatal = on_fatal
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._restarts: dict[str, int] = {}
        self._failure: tuple[str, BaseException] | None = None
        self._stopped = False
        #: Set when a ``restart=False`` task failed: readiness checks and the app's main loop watch it.
        self.failed = asyncio.Event()

    @property
    def running(self) -> frozenset[str]:
        """Names of the tasks that are still running (or waiting to be restarted)."""
        return frozenset(self._tasks)

    @property
    def restarts(self) -> Mapping[str, int]:
        """How often each task was restarted after a crash, for metrics and tests."""
        return dict(self._restarts)

    @property
    def failure(self) -> tuple[str, BaseException] | None:
        """The first fatal failure: the task's name and its exception."""
        return self._failure

    def spawn(
        self,
        name: str,
        factory: TaskFactory,
        *,
        restart: bool = True,
        initial_backoff: float = 0.1,
        max_backoff: float = 30.0,
    ) -> asyncio.Task[None]:
        """Start ``factory()`` as the task ``name``; ``factory`` is called again for every restart.

        Raises ``RuntimeError`` after ``stop()`` and ``ValueError`` for a name that is still running: both are
        wiring mistakes, and two loops under one name could not be told apart in the logs.
        """
        if self._stopped:
            raise RuntimeError(f"the supervisor is stopped; cannot start {name!r}")
        if name in self._tasks:
            raise ValueError(f"a background task named {name!r} is already running")
        if not 0 < initial_backoff <= max_backoff:
            raise ValueError("backoff must satisfy 0 < initial_backoff <= max_backoff")
        spec = _Spec(name, factory, restart, initial_backoff, max_backoff)
        task = asyncio.create_task(self._supervise(spec), name=f"supervised:{name}")
        self._tasks[name] = task
        task.add_done_callback(lambda done: self._forget(name, done))
        return task

    async def stop(self, grace_seconds: float = 5.0) -> bool:
        """Cancel every task and wait for them; True when all ended within ``grace_seconds``.

        A task that swallows its cancellation is left running and reported (with its name) rather than waited
        for forever: shutdown must stay bounded.
        """
        self._stopped = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
        if pending:
            names = sorted(task.get_name() for task in pending)
            logger.error("background tasks did not stop within %.1f s: %s", grace_seconds, ", ".join(names))
        return not pending

    def _forget(self, name: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(name) is task:
            del self._tasks[name]

    async def _supervise(self, spec: _Spec) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await spec.factory()
            except Exception as exc:
                if not spec.restart:
                    self._fail(spec.name, exc)
                    return
                # A run that lasted longer than the longest wait had recovered: start the streak over.
                failures = 1 if loop.time() - started >= spec.max_backoff else failures + 1
                delay = self._backoff(spec, failures)
                logger.exception(
                    "background task %s failed; restarting in %.2f s",
                    spec.name,
                    delay,
                    extra={"task": spec.name, "failures": failures, "retry_in": delay},
                )
                await asyncio.sleep(delay)
                self._restarts[spec.name] = self._restarts.get(spec.name, 0) + 1
            else:
                return

    def _backoff(self, spec: _Spec, failures: int) -> float:
        """Doubling per failure, capped, with "equal jitter": never below half the step, so never a hot loop."""
        step = min(spec.max_backoff, spec.initial_backoff * 2.0 ** min(failures - 1, 62))
        return step / 2 + self._rng.uniform(0, step / 2)

    def _fail(self, name: str, exc: Exception) -> None:
        logger.critical("background task %s failed and is not restarted", name, exc_info=exc, extra={"task": name})
        if self._failure is None:
            self._failure = (name, exc)
        self.failed.set()
        if self._on_fatal is not None:
            try:
                self._on_fatal(name, exc)
            except Exception:
                logger.exception("the fatal-failure handler of %s raised", name, extra={"task": name})
