"""Per-dependency circuit breakers on purgatory: a failing dependency fails fast alone, the others keep serving.

One breaker per dependency, never one for the whole service: a global breaker opened by a dead Redis would also
refuse database traffic and the health checks. **Health checks must never go through a breaker**: readiness has
to report whether a dependency answers *now*, and a breaker answers from memory (an open circuit would keep
failing the probe without asking, a closed one hides nothing useful). Put ``states()`` next to the checks instead.

purgatory keeps each circuit's state (in memory here, so per process) and drives the state machine: ``closed``
counts consecutive failures and opens at the threshold; ``open`` refuses every call until the recovery timeout
has passed; then calls are let through (``half-open``) and the first outcome closes or re-opens the circuit.
purgatory reads ``time.time()`` itself and accepts no clock, so the retry hint uses the same clock.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Literal

from purgatory import AsyncCircuitBreakerFactory, Event
from purgatory.domain.model import Context, ExcludeType, OpenedState
from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker

from apibase.infrastructure.resilience.errors import CircuitOpenError
from apibase.infrastructure.resilience.policies import BreakerPolicy, standard_policies

__all__ = ["BreakerGuard", "BreakerState", "CircuitBreakers"]

type BreakerState = Literal["closed", "open", "half-open"]

logger = logging.getLogger(__name__)


class CircuitBreakers:
    """The registry: one named breaker per dependency, each with its own threshold, timeout and classifier.

    Names must be registered up front: a typo in ``guard("databse")`` is a wiring mistake (``KeyError``), not a
    silent second breaker that never opens.
    """

    def __init__(self, policies: Mapping[str, BreakerPolicy] | None = None) -> None:
        self._policies = dict(standard_policies() if policies is None else policies)
        self._factory = AsyncCircuitBreakerFactory()
        self._factory.add_listener(self._log_transition)
        self._breakers: dict[str, AsyncCircuitBreaker] = {}

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._policies)

    def policy(self, name: str) -> BreakerPolicy:
        if name not in self._policies:
            raise KeyError(f"no circuit breaker named {name!r}; registered: {sorted(self._policies)}")
        return self._policies[name]

    def guard(self, name: str) -> BreakerGuard:
        """``async with breakers.guard("redis"):`` around one call; raises ``CircuitOpenError`` while open."""
        self.policy(name)
        return BreakerGuard(lambda: self._breaker(name), lambda context: self._open_error(name, context))

    def states(self) -> Mapping[str, BreakerState]:
        """Every breaker's state for readiness and metrics; an open circuit past its timeout reads ``half-open``."""
        return {name: self._state(name) for name in sorted(self._policies)}

    def _state(self, name: str) -> BreakerState:
        breaker = self._breakers.get(name)
        if breaker is None or breaker.context.state == "closed":
            return "closed"
        if breaker.context.state == "half-opened" or self._seconds_until_half_open(breaker.context) <= 0:
            return "half-open"
        return "open"

    async def _breaker(self, name: str) -> AsyncCircuitBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            policy = self.policy(name)
            # purgatory's list names exceptions that do NOT count; one catch-all entry turns it into our allowlist.
            exclude: ExcludeType = [(BaseException, lambda exc: not policy.is_failure(exc))]
            breaker = await self._factory.get_breaker(
                name, policy.failure_threshold, policy.recovery_timeout_seconds, exclude
            )
            self._breakers[name] = breaker
        return breaker

    @staticmethod
    def _seconds_until_half_open(context: Context) -> float:
        opened_at = context.opened_at if context.opened_at is not None else time.time()
        return opened_at + context.ttl - time.time()

    def _open_error(self, name: str, context: Context) -> CircuitOpenError:
        return CircuitOpenError.for_dependency(name, max(1, math.ceil(self._seconds_until_half_open(context))))

    @staticmethod
    def _log_transition(name: str, kind: str, event: Event) -> None:
        if kind == "state_changed":
            logger.warning("circuit breaker %s is now %s", name, getattr(event, "state", "?"))


class BreakerGuard:
    """One call through one breaker; usable with ``async with`` or driven by another context manager.

    A cancelled call (``CancelledError`` and other non-``Exception``s) and a ``CircuitOpenError`` from another
    breaker inside the block give no verdict: neither says whether this dependency works.
    """

    def __init__(
        self,
        breaker: Callable[[], Awaitable[AsyncCircuitBreaker]],
        refusal: Callable[[Context], CircuitOpenError],
    ) -> None:
        self._breaker = breaker
        self._refusal = refusal
        self._entered: AsyncCircuitBreaker | None = None

    async def __aenter__(self) -> None:
        breaker = await self._breaker()
        try:
            await breaker.__aenter__()
        except OpenedState:
            raise self._refusal(breaker.context) from None
        self._entered = breaker

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        breaker, self._entered = self._entered, None
        if breaker is None:
            raise RuntimeError("the breaker guard was not entered")
        if exc is not None and (not isinstance(exc, Exception) or isinstance(exc, CircuitOpenError)):
            return
        await breaker.__aexit__(exc_type, exc, traceback)
